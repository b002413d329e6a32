"""`bench ablate NAME`: train and run every variant of an ablation for several seeds on the same cached detections.

An ablation is data: `ablations/<name>.toml` with a description, the tracker whose variants are run (default
finetrack) and the reference tracker run once beside them (default bytetrack), the baseline variant (what Δ is
measured against) and `[[variant]]` tables whose `set` maps dotted config keys to values (and `seed_offset`, to give a
variant seeds disjoint from the others', as the A/A check does). Each (variant, seed) is one ordinary `bench run` of
the tracker in `results/ablate-<name>-<suite>-<confighash>/<variant>-s<seed>/`; finished runs are reused, so a killed
ablation resumes where it stopped (and a unit killed while tracking reuses its cached tracks). With
`run.backend = "dask"` the unfinished units run in parallel on the cluster, one unit per worker; with loky they run
one after another, each tracking in parallel.

`AblationRecord` is what an ablation leaves on disk (what was run, one row per (variant, seed), the run folder of each
(variant, seed) and the breakdowns pooled over seeds), stored through `bench.core.record`; the report asks it rather
than knowing the layout.
"""

from __future__ import annotations

import math
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from bench.analysis import stats
from bench.core import metric_catalog
from bench.core.config import Config, apply_mapping, read_toml
from bench.core.device import resolve_device, uses_device
from bench.core.errors import BenchError
from bench.core.fsutil import file_lock, lock_path, stable_hash
from bench.core.progress import Reporter, SilentReporter
from bench.core.record import (
    RunRecord,
    ablation_info_path,
    is_run,
    load_manifest,
    read_ablation,
    write_ablation,
    write_breakdown,
)
from bench.data.suites import Suite

if TYPE_CHECKING:
    from bench.core.backends import Backend
    from bench.commands.run import RunResult

ABLATION_DIR = Path(__file__).resolve().parents[2] / "ablations"
METRICS = metric_catalog.HEADLINE
REID = ["mAP", "rank1"]
TRACKER = "finetrack"  # defaults of an ablation file's `tracker` and `reference`
REFERENCE = "bytetrack"


@dataclass(frozen=True)
class Variant:
    name: str
    overrides: dict[str, Any] = field(default_factory=dict)
    seed_offset: int = 0  # the variant's seed i trains with seed i + seed_offset


@dataclass(frozen=True)
class Ablation:
    name: str
    description: str
    baseline: str
    variants: tuple[Variant, ...]
    tracker: str = TRACKER
    reference: str = REFERENCE


def ablation_path(name: str, cfg: Config) -> Path:
    """`name` as a file, else `<name>.toml` beside bench.toml's ablations/, else the package's ablations/."""
    as_path = Path(name)
    if as_path.suffix == ".toml":
        return as_path
    for folder in (cfg.base_dir / "ablations", ABLATION_DIR):
        if (folder / f"{name}.toml").is_file():
            return folder / f"{name}.toml"
    known = sorted(p.stem for p in ABLATION_DIR.glob("*.toml"))
    raise BenchError(f"unknown ablation {name!r}", hint=f"known: {', '.join(known)}, or a path to a .toml file")


def load_ablation(name: str, cfg: Config) -> Ablation:
    path = ablation_path(name, cfg)
    data = read_toml(path, "ablation file")
    unknown = set(data) - {"description", "baseline", "variant", "tracker", "reference"}
    if unknown:
        raise BenchError(
            f"unknown key(s) {', '.join(sorted(unknown))}",
            path,
            hint="an ablation has description, tracker, reference, baseline and [[variant]] tables",
        )
    variants = []
    for i, v in enumerate(data.get("variant", [])):
        if set(v) - {"name", "set", "seed_offset"} or "name" not in v:
            raise BenchError(f"variant {i + 1}: needs name (and optionally set, seed_offset), got {sorted(v)}", path)
        offset = v.get("seed_offset", 0)
        if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset < 2**31:
            raise BenchError(f"variant {v['name']}: seed_offset must be an integer in [0, 2^31), got {offset!r}",
                             path)
        variant = Variant(v["name"], dict(v.get("set", {})), offset)
        apply_mapping(cfg, variant.overrides, f"{path} variant {variant.name}")  # reject bad keys before training
        variants.append(variant)
    names = [v.name for v in variants]
    if not variants or len(set(names)) != len(names):
        raise BenchError("an ablation needs variants with distinct names", path)
    baseline = data.get("baseline", names[0])
    if baseline not in names:
        raise BenchError(f"baseline {baseline!r} is not one of the variants ({', '.join(names)})", path)
    tracker, reference = data.get("tracker", TRACKER), data.get("reference", REFERENCE)
    for key, name in (("tracker", tracker), ("reference", reference)):
        if not isinstance(name, str) or name not in cfg.trackers.__dataclass_fields__:
            raise BenchError(f"{key} = {name!r} is not a known tracker", path,
                             hint=f"known: {', '.join(cfg.trackers.__dataclass_fields__)}")
    if tracker == reference or reference in names:
        raise BenchError(f"reference {reference!r} must differ from the tracker and from every variant name", path)
    return Ablation(path.stem, data.get("description", ""), baseline, tuple(variants), tracker, reference)


def _row(result: RunResult, tracker: str) -> dict[str, Any]:
    combined = result.combined(tracker)
    row = {m: float(combined[m]) for m in METRICS}
    reid = result.manifest.reid.get(tracker)
    if reid:
        row.update({m: float(reid["metrics"][m]) for m in REID})
        row["train_seconds"] = float(reid["train_seconds"])
    return row


@dataclass(frozen=True)
class AblationUnit:
    """One ablation variant for one seed (or the reference tracker): a plain, content-keyed unit of work."""

    variant: str
    overrides: dict[str, Any]
    seed: int | None  # None: the config's own seed (the reference run, listed as seed 0)
    tracker: str
    seed_offset: int = 0  # seed `seed` trains with run.seed = seed + seed_offset

    def config(self, cfg: Config) -> Config:
        seed = {} if self.seed is None else {"run.seed": self.seed + self.seed_offset}
        return apply_mapping(cfg, {**self.overrides, **seed}, f"variant {self.variant}")

    def key(self, cfg: Config, suite: Suite) -> str:
        """Content key: the unit's full config, the suite's sequences (content) and the tracker."""
        return stable_hash(
            {
                "config": self.config(cfg).hash(),
                "suite": [s.fingerprint() for s in suite.sequences],
                "tracker": self.tracker,
            }
        )


def run_unit(cfg: Config, suite: Suite, unit: AblationUnit, run_dir: Path, reporter: Reporter | None = None,
             backend: Backend | None = None) -> tuple[RunResult, dict[str, Any]]:
    """Run (or reuse, when `run_dir` is finished) one unit; returns its run and its ablation.csv row. `backend`
    tracks its sequences (default: the config's)."""
    from bench.commands.run import RunResult, run_suite

    with file_lock(lock_path(run_dir)):  # the same ablation running twice: the second waits, then reuses the run
        if is_run(run_dir):
            result = RunResult.load(run_dir)
        else:
            result = run_suite(unit.config(cfg), suite, [unit.tracker], run_dir=run_dir, reporter=reporter,
                               backend=backend)
    return result, {"variant": unit.variant, "seed": unit.seed or 0, **_row(result, unit.tracker)}


def ablation_units(ablation: Ablation, seeds: int) -> list[AblationUnit]:
    """The reference tracker once (base config), then every variant for every seed."""
    units = [AblationUnit(ablation.reference, {}, None, ablation.reference)]
    for seed in range(seeds):
        units += [AblationUnit(v.name, v.overrides, seed, ablation.tracker, v.seed_offset) for v in ablation.variants]
    return units


def _unit_on_worker(task: tuple[int, Config, Suite, AblationUnit, Path]) -> tuple[int, dict[str, Any]]:
    """One unit on a Dask worker: the unit is the parallelism, so its tracking runs in the worker's own process."""
    from bench.core.backends import Backend

    i, cfg, suite, unit, folder = task
    return i, run_unit(cfg, suite, unit, folder, backend=Backend("loky", 1))[1]


@dataclass(frozen=True)
class AblationRecord:
    """What an ablation left in its folder: ablation.json (what was run), ablation.csv (one row per (variant, seed))
    and the run folder of each (variant, seed), the reference tracker's as seed 0. The one reader and writer."""

    folder: Path
    name: str
    description: str
    tracker: str
    reference: str
    baseline: str
    seeds: int
    suite: str
    variants: list[str]
    overrides: dict[str, dict[str, Any]]
    breakdowns: dict[str, str] = field(default_factory=dict)  # breakdown → "" when pooled, else why not

    @classmethod
    def of(cls, out: Path, ablation: Ablation, seeds: int, suite: str) -> AblationRecord:
        return cls(out, ablation.name, ablation.description, ablation.tracker, ablation.reference, ablation.baseline,
                   seeds, suite, [v.name for v in ablation.variants], {v.name: v.overrides for v in ablation.variants})

    @classmethod
    def load(cls, out: Path) -> AblationRecord:
        info, _ = read_ablation(out)
        try:
            return cls(out, info["name"], info.get("description", ""), info.get("tracker", TRACKER),
                       info.get("reference", REFERENCE), info["baseline"], int(info["seeds"]), info["suite"],
                       list(info["variants"]), dict(info.get("overrides", {})), dict(info.get("breakdowns", {})))
        except (ValueError, KeyError, TypeError) as e:
            raise BenchError(f"unreadable ablation record ({e!r})", ablation_info_path(out),
                             hint="rerun `bench ablate` to rewrite it") from None

    def write(self, table: pd.DataFrame) -> None:
        """The table and what was run, with the breakdowns of its runs pooled over seeds (per entry)."""
        from bench.evaluate.breakdowns import pool

        runs = self.runs()
        tables = {k: RunRecord.load(p).breakdowns for k, p in runs.items()}
        reasons = {}
        for p in runs.values():
            reasons.update({n: r for n, r in load_manifest(p).breakdowns.items() if r})
        pooled, why = pool({f"{v}/s{s}": t for (v, s), t in tables.items()}, {f"{v}/s{s}": v for v, s in tables},
                           reasons)
        for name, t in pooled.items():
            write_breakdown(self.folder, name, t)
        done = dataclasses.replace(self, breakdowns=why)
        info = {k: getattr(done, k) for k in ("name", "description", "tracker", "reference", "baseline", "seeds",
                                              "suite", "variants", "overrides", "breakdowns")}
        write_ablation(self.folder, info, table)

    def table(self) -> pd.DataFrame:
        return read_ablation(self.folder)[1]

    def run_folder(self, variant: str, seed: int) -> Path:
        return self.folder / (self.reference if variant == self.reference else f"{variant}-s{seed}")

    def runs(self, seeds: int | None = None) -> dict[tuple[str, int], Path]:
        """(variant, seed) -> finished run folder (the reference as seed 0), for the first `seeds` seeds."""
        keys = [(self.reference, 0)] + [(v, s) for s in range(self.seeds if seeds is None else seeds)
                                        for v in self.variants]
        return {k: p for k in keys if is_run(p := self.run_folder(*k))}

    def values(self, seeds: int | None = None) -> pd.DataFrame | None:
        """Per-(variant, seed, sequence) metrics of the first `seeds` seeds; None when a run folder is missing."""
        runs = self.runs(seeds)
        if len(runs) < 1 + len(self.variants) * (self.seeds if seeds is None else seeds):
            return None
        frames = [
            stats.values_from_metrics(RunRecord.load(p).metrics,
                                      self.reference if v == self.reference else self.tracker, entry=v, seed=s)
            for (v, s), p in runs.items()
        ]
        return pd.concat(frames, ignore_index=True)

    def untrained(self) -> set[str]:
        """The reference tracker when it has no trained model (bytetrack): no seed effect of its own."""
        from bench.core.trackers_registry import REGISTRY

        entry = REGISTRY.get(self.reference)
        return {self.reference} if entry is not None and not entry.needs_features else set()

    def comparisons(self, primary: str, holm_primaries: bool = True) -> pd.DataFrame | None:
        values = self.values()
        if values is None:
            return None
        return stats.ablation_comparisons(values, self.variants, self.baseline, self.reference, primary,
                                          holm_primaries, self.untrained())


def design_message(record: AblationRecord, primary: str) -> str | None:
    """Once the first seed is in: the smallest Δ of the primary metric each comparison could call with 80% power at
    the full design, from the first seed's spread; None before that."""
    values = record.values(seeds=1)
    if values is None:
        return None
    comps = stats.ablation_comparisons(values, record.variants, record.baseline, record.reference, primary,
                                       untrained=record.untrained())
    prim = comps[comps["primary"].astype(bool) & (comps["level"] == "model")]
    n = int(prim["n_seqs"].iloc[0])
    if not stats.can_call(n):
        return (f"design: {n} sequences × {record.seeds} seeds cannot call any {primary} difference "
                f"(too few to tell: the smallest possible p is {stats.smallest_p(n):.3g} > {stats.ALPHA}); "
                "add sequences to the suite for a verdict")
    mdes = ", ".join(f"{r.a} vs {r.b} {r.mde:.1f}" for r in prim.itertuples(index=False) if math.isfinite(r.mde))
    return (f"design: {n} sequences × {record.seeds} seeds; smallest {primary} Δ callable with 80% power for these "
            f"models, from seed 0's spread (points): {mdes}; the method-level answer needs the seed spread "
            "(`bench plan` on this folder once 2 seeds are in)")


def run_ablation(cfg: Config, suite: Suite, ablation: Ablation, seeds: int, reporter: Reporter | None = None) -> Path:
    """Run every (variant, seed); write ablation.csv (one row per run) and ablation.json. Once the first seed is in
    (and before the other seeds train) the design's minimum detectable effect is reported."""
    from bench.core.backends import Backend, run_units

    reporter = reporter or SilentReporter()
    out = cfg.results_dir / f"ablate-{ablation.name}-{suite.name}-{cfg.hash()[:8]}"
    record = AblationRecord.of(out, ablation, seeds, suite.name)
    units = ablation_units(ablation, seeds)
    folders = [record.run_folder(u.variant, u.seed or 0) for u in units]
    first_seed = {i for i, u in enumerate(units) if not u.seed}
    rows: list[dict[str, Any] | None] = [None] * len(units)
    said = False

    def done(i: int, row: dict[str, Any]) -> None:
        nonlocal said
        rows[i] = row
        if not said and all(rows[j] is not None for j in first_seed):
            said = True
            message = design_message(record, cfg.analysis.primary)
            if message:
                reporter.message(message)

    backend = Backend(cfg.run.backend, cfg.run.jobs, cfg.run.scheduler)
    if backend.name == "loky":  # one unit after another, each tracking on loky
        for i, (unit, folder) in enumerate(zip(units, folders)):
            done(i, run_unit(cfg, suite, unit, folder, reporter, backend)[1])
    else:
        for i, (unit, folder) in enumerate(zip(units, folders)):  # finished units are read here, not shipped
            if is_run(folder):
                done(i, run_unit(cfg, suite, unit, folder)[1])
        todo = [i for i, r in enumerate(rows) if r is None]
        cuda = resolve_device(cfg.run.device) == "cuda"
        with reporter.progress(f"ablation units on dask ({len(todo)} to run)", total=len(todo)) as task:
            for i, row in run_units(
                _unit_on_worker,
                [(i, cfg, suite, units[i], folders[i]) for i in todo],
                backend,
                keys=[units[i].key(cfg, suite) for i in todo],
                gpu=[cuda and uses_device(units[i].config(cfg), [units[i].tracker]) for i in todo],
            ):
                done(i, row)
                task.advance()
    record.write(pd.DataFrame(rows))
    return out
