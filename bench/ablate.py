"""`bench ablate NAME`: train and run every variant of an ablation for several seeds on the same cached detections.

An ablation is data: `ablations/<name>.toml` with a description, the baseline variant (the full model, what Δ is
measured against) and `[[variant]]` tables whose `set` maps dotted config keys to values. Each (variant, seed) is one
ordinary `bench run` of FineTrack in `results/ablate-<name>-<suite>-<confighash>/<variant>-s<seed>/`; finished runs
are reused, so a killed ablation resumes where it stopped (and a unit killed while tracking reuses its cached
tracks). ByteTrack runs once beside them as the reference. With `run.backend = "dask"` the unfinished units run in
parallel on the cluster, one unit per worker; with loky they run one after another, each tracking in parallel.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from bench.backends import Backend, run_units
from bench.config import Config, apply_mapping
from bench.errors import BenchError
from bench.fsutil import atomic_path, stable_hash
from bench.reporter import Reporter, SilentReporter
from bench.runner import RunResult, resolve_device, run_suite
from bench.suites import Suite

ABLATION_DIR = Path(__file__).resolve().parents[1] / "ablations"
METRICS = ["HOTA", "AssA", "IDF1", "MOTA", "IDs"]
REID = ["mAP", "rank1"]
TRACKER = "finetrack"
REFERENCE = "bytetrack"


@dataclass(frozen=True)
class Variant:
    name: str
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Ablation:
    name: str
    description: str
    baseline: str
    variants: tuple[Variant, ...]


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
    if not path.is_file():
        raise BenchError("ablation file not found", path)
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise BenchError(f"invalid TOML ({e})", path) from None
    unknown = set(data) - {"description", "baseline", "variant"}
    if unknown:
        raise BenchError(
            f"unknown key(s) {', '.join(sorted(unknown))}",
            path,
            hint="an ablation has description, baseline and [[variant]] tables",
        )
    variants = []
    for i, v in enumerate(data.get("variant", [])):
        if set(v) - {"name", "set"} or "name" not in v:
            raise BenchError(f"variant {i + 1}: needs name (and optionally set), got {sorted(v)}", path)
        variant = Variant(v["name"], dict(v.get("set", {})))
        apply_mapping(cfg, variant.overrides, f"{path} variant {variant.name}")  # reject bad keys before training
        variants.append(variant)
    names = [v.name for v in variants]
    if not variants or len(set(names)) != len(names):
        raise BenchError("an ablation needs variants with distinct names", path)
    baseline = data.get("baseline", names[0])
    if baseline not in names:
        raise BenchError(f"baseline {baseline!r} is not one of the variants ({', '.join(names)})", path)
    return Ablation(path.stem, data.get("description", ""), baseline, tuple(variants))


def _row(result: RunResult, tracker: str) -> dict[str, Any]:
    combined = result.combined(tracker)
    row = {m: float(combined[m]) for m in METRICS}
    reid = (result.manifest.get("reid") or {}).get(tracker)
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

    def config(self, cfg: Config) -> Config:
        seed = {} if self.seed is None else {"run.seed": self.seed}
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
    if (run_dir / "manifest.json").is_file():
        result = RunResult.load(run_dir)
    else:
        result = run_suite(unit.config(cfg), suite, [unit.tracker], run_dir=run_dir, reporter=reporter, backend=backend)
    return result, {"variant": unit.variant, "seed": unit.seed or 0, **_row(result, unit.tracker)}


def ablation_units(ablation: Ablation, seeds: int) -> list[AblationUnit]:
    """The reference tracker once (base config), then every variant for every seed."""
    units = [AblationUnit(REFERENCE, {}, None, REFERENCE)]
    for seed in range(seeds):
        units += [AblationUnit(v.name, v.overrides, seed, TRACKER) for v in ablation.variants]
    return units


def _unit_on_worker(task: tuple[int, Config, Suite, AblationUnit, Path]) -> tuple[int, dict[str, Any]]:
    """One unit on a Dask worker: the unit is the parallelism, so its tracking runs in the worker's own process."""
    i, cfg, suite, unit, folder = task
    return i, run_unit(cfg, suite, unit, folder, backend=Backend("loky", 1))[1]


def _uses_device(cfg: Config, unit: AblationUnit) -> bool:
    """Does the unit train/embed (appearance tracker) or detect (YOLOX) on the device?"""
    from bench.trackers_registry import REGISTRY

    unit_cfg = unit.config(cfg)
    return REGISTRY[unit.tracker].needs_features or unit_cfg.run.detections == "yolox"


def run_ablation(cfg: Config, suite: Suite, ablation: Ablation, seeds: int, reporter: Reporter | None = None) -> Path:
    """Run every (variant, seed); write ablation.csv (one row per run) and the summary tables."""
    reporter = reporter or SilentReporter()
    out = cfg.results_dir / f"ablate-{ablation.name}-{suite.name}-{cfg.hash()[:8]}"
    units = ablation_units(ablation, seeds)
    folders = [out / (REFERENCE if u.tracker == REFERENCE else f"{u.variant}-s{u.seed}") for u in units]
    rows: list[dict[str, Any] | None] = [None] * len(units)
    backend = Backend(cfg.run.backend, cfg.run.jobs, cfg.run.scheduler)
    if backend.name == "loky":  # one unit after another, each tracking on loky
        for i, (unit, folder) in enumerate(zip(units, folders)):
            rows[i] = run_unit(cfg, suite, unit, folder, reporter, backend)[1]
    else:
        for i, (unit, folder) in enumerate(zip(units, folders)):  # finished units are read here, not shipped
            if (folder / "manifest.json").is_file():
                rows[i] = run_unit(cfg, suite, unit, folder)[1]
        todo = [i for i, r in enumerate(rows) if r is None]
        cuda = resolve_device(cfg.run.device) == "cuda"
        with reporter.progress(f"ablation units on dask ({len(todo)} to run)", total=len(todo)) as task:
            for i, row in run_units(
                _unit_on_worker,
                [(i, cfg, suite, units[i], folders[i]) for i in todo],
                backend,
                keys=[units[i].key(cfg, suite) for i in todo],
                gpu=[cuda and _uses_device(cfg, units[i]) for i in todo],
            ):
                rows[i] = row
                task.advance()
    table = pd.DataFrame(rows)
    with atomic_path(out / "ablation.csv") as tmp:
        table.to_csv(tmp, index=False)
    with atomic_path(out / "ablation.json") as tmp:
        tmp.write_text(
            json.dumps(
                {
                    "name": ablation.name,
                    "description": ablation.description,
                    "baseline": ablation.baseline,
                    "seeds": seeds,
                    "suite": suite.name,
                    "variants": [v.name for v in ablation.variants],
                    "overrides": {v.name: v.overrides for v in ablation.variants},
                },
                indent=2,
            )
        )
    return out

