"""The run folder's one owner: what a run leaves on disk, written and read back here and nowhere else.

A run folder (`bench run`, `bench compare`, each (variant, seed) of an ablation) holds
- `manifest.json`: the typed `Manifest` (suite, trackers, config and its hash, commit, package versions, device,
  seed, timings, the tuning budget of `bench run --tuned`, which breakdowns were computed and why not);
- `metrics.csv` (one row per tracker and sequence, COMBINED included) and `crosscheck.csv` (py-motmetrics);
- per breakdown (`bench.evaluate.breakdowns`): `<name>_per_seq.csv` (one row per tracker, sequence and bin) and
  `<name>.csv` (the combined table), computed in the evaluation stage, so a report never needs the suite again;
- `<tracker>/<SEQ>.txt` (the tracks), `test/metrics.csv` when the test split has gt, and what the report adds
  (`significance.csv`, report.md/.tex, plots).
An ablation folder holds `ablation.json` and `ablation.csv` beside its runs' folders and the pooled breakdown tables;
a tuning study's folder holds `tune.json`, `trials.csv` and `best.toml`.

Producers (`bench.commands.run`, `compare`, `ablate`, `tune`) write through here; readers (`bench.present.report`,
`bench.analysis.stats` via the commands) load through here, and a malformed file is one `BenchError` naming it.
Torch-free and light, so `bench report` and `bench compare` find and read runs without loading the runner.
"""

from __future__ import annotations

import dataclasses
import json
import platform
import re
import subprocess
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.core.errors import BenchError
from bench.core.fsutil import atomic_path, atomic_write_json, atomic_write_text, is_temp
from bench.core.typed_toml import build

if TYPE_CHECKING:  # pandas loads where a table is read: a refused command stays fast
    import pandas as pd

RUN_ID = re.compile(r"^[A-Za-z0-9_.-]+$")
RESERVED = ("example",)  # results/example/ holds the committed example reports

MANIFEST = "manifest.json"
METRICS = "metrics.csv"
CROSSCHECK = "crosscheck.csv"
TEST = "test"  # test-split tracks and metrics
SIGNIFICANCE = "significance.csv"
OCCLUSION_SIGNIFICANCE = "occlusion_significance.csv"
EVENTS = "events.csv"  # every ID switch and fragmentation of every tracker (bench.evaluate.events)  # per-bin Δs of the occlusion breakdowns (report)
ABLATION_INFO, ABLATION_TABLE = "ablation.json", "ablation.csv"
TUNE_INFO, TUNE_TRIALS, TUNE_PARAMS = "tune.json", "trials.csv", "best.toml"
PER_SEQ = "_per_seq"
PACKAGES = ("numpy", "scipy", "pandas", "lap", "trackeval", "motmetrics", "torch", "joblib")  # versions recorded


# ---- run folders: names and the latest one ------------------------------------------------------------------------


def run_folder(results_dir: Path, run_id: str) -> Path:
    """`results_dir/run_id` for a user's run id: a plain name (letters, digits, `-`, `_`, `.`; no separators, no
    leading `.`, not `example`) whose folder does not exist yet. Runs are never deleted or replaced."""
    if not RUN_ID.match(run_id) or run_id.startswith(".") or run_id in RESERVED:
        raise BenchError(
            f"--run-id {run_id!r} is not a plain name",
            hint="use letters, digits, '-', '_' and '.' only (no path separators, no leading '.', not 'example')",
        )
    return new_folder(results_dir / run_id)


def new_folder(run_dir: Path) -> Path:
    """`run_dir` if nothing is there yet: runs are never replaced."""
    if run_dir.exists():
        raise BenchError("run folder already exists; runs are never replaced", run_dir, hint="use another --run-id")
    return run_dir


def is_run(folder: Path) -> bool:
    """A finished run folder (its manifest is written last)."""
    return (folder / MANIFEST).is_file() and (folder / METRICS).is_file()


def is_ablation(folder: Path) -> bool:
    return (folder / ABLATION_TABLE).is_file()


def latest_run(results_dir: Path) -> Path | None:
    """The newest finished run (temporary folders of running or killed runs never count)."""
    runs = [p for p in results_dir.iterdir() if not is_temp(p) and is_run(p)] if results_dir.is_dir() else []
    return max(runs, key=lambda p: (p / MANIFEST).stat().st_mtime) if runs else None


# ---- the manifest ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SuiteRecord:
    name: str
    root: str  # where its gt was when the run was made (the report never reads it)
    benchmark: str  # as the evaluation scored it (MOT15/16/17/20)
    sequences: list[str]  # val: evaluated
    test_sequences: list[str] = field(default_factory=list)
    benchmark_reason: str = ""  # why this protocol (bench.data.benchmarks: the setting, or what auto-detection saw)


@dataclass(frozen=True)
class Manifest:
    """What a run was: enough to rerun it and to say what its numbers mean."""

    run_id: str
    suite: SuiteRecord
    trackers: list[str]
    git_commit: str = "unknown"
    device: str = "unknown"  # cpu | cuda | n/a (bench compare: nothing ran)
    seed: int = 0
    started: str = ""
    packages: dict[str, str] = field(default_factory=dict)  # versions, python included
    config: dict[str, Any] = field(default_factory=dict)  # Config.to_dict(); {} for bench compare
    config_hash: str = ""
    jobs: int | None = None
    detections: dict[str, Any] = field(default_factory=lambda: {"source": "unrecorded"})  # source and parameters
    reid: dict[str, Any] = field(default_factory=dict)  # tracker → checkpoint metadata (model, training, retrieval)
    timings: dict[str, Any] = field(default_factory=dict)  # stage → seconds, cache hits
    tuning: dict[str, Any] | None = None  # `bench run --tuned N`: the budget and each tracker's study
    compared: dict[str, str] = field(default_factory=dict)  # bench compare: tracker → the folder it came from
    notes: list[str] = field(default_factory=list)  # paragraphs the report shows under its header
    breakdowns: dict[str, str] = field(default_factory=dict)  # breakdown → "" when computed, else why not

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Any, source: str) -> Manifest:
        if not isinstance(data, dict):
            raise BenchError("a run manifest is a JSON object", source)
        return build(cls, data, "", source)

    @property
    def detection_source(self) -> str:
        return str(self.detections.get("source", "unrecorded"))


# ---- provenance -----------------------------------------------------------------------------------------------------


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, cwd=Path(__file__).resolve().parent
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for p in PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = "missing"
    return out


# ---- the run record ------------------------------------------------------------------------------------------------


@dataclass
class BreakdownTables:
    """One breakdown of a run (or pooled over an ablation's runs): per sequence, and combined over sequences."""

    per_seq: pd.DataFrame | None  # tracker, seq, bin columns, counts and rates; None where only the pool is kept
    combined: pd.DataFrame


@dataclass
class RunRecord:
    """A run as written and as read back: `manifest.json`, `metrics.csv`, `crosscheck.csv` and the breakdowns."""

    run_dir: Path
    manifest: Manifest
    metrics: pd.DataFrame  # one row per (tracker, seq) incl. COMBINED
    crosscheck: pd.DataFrame
    breakdowns: dict[str, BreakdownTables] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        return self.manifest.run_id

    def combined(self, tracker: str) -> pd.Series:
        m = self.metrics
        return m[(m["seq"] == "COMBINED") & (m["tracker"] == tracker)].iloc[0]

    def write(self, folder: Path | None = None) -> None:
        """Into `folder` (the run's temporary folder while it is built; default its own folder); the manifest
        last, so a folder with a manifest is complete."""
        folder = folder or self.run_dir
        _write_csv(folder / METRICS, self.metrics)
        _write_csv(folder / CROSSCHECK, self.crosscheck)
        for name, tables in self.breakdowns.items():
            write_breakdown(folder, name, tables)
        atomic_write_json(folder / MANIFEST, self.manifest.to_dict())

    @classmethod
    def load(cls, run_dir: Path) -> RunRecord:
        """A finished run from its folder, whichever process wrote it; a missing or malformed file is one error
        naming it."""
        import pandas as pd

        manifest = load_manifest(run_dir)
        metrics = _read_csv(run_dir / METRICS, ("seq", "tracker"))
        crosscheck = _read_csv(run_dir / CROSSCHECK, ("seq", "tracker")) if (run_dir / CROSSCHECK).is_file() \
            else pd.DataFrame(columns=["tracker", "seq"])
        breakdowns = {}
        for name, reason in manifest.breakdowns.items():
            if not reason:
                tables = load_breakdown(run_dir, name)
                if tables is None:
                    raise BenchError(f"breakdown {name!r} is listed in the manifest but its table is missing",
                                     run_dir / f"{name}.csv", hint="rerun to rewrite the run folder")
                breakdowns[name] = tables
        return cls(run_dir, manifest, metrics, crosscheck, breakdowns)


def read_metrics(folder: Path) -> pd.DataFrame | None:
    """A run folder's per-sequence metrics alone (what the design planner needs); None where it has none."""
    return _read_csv(folder / METRICS, ("seq", "tracker")) if (folder / METRICS).is_file() else None


def load_manifest(run_dir: Path) -> Manifest:
    path = run_dir / MANIFEST
    if not path.is_file():
        raise BenchError("missing run file", path, hint="pass a folder written by `bench run` or `bench compare`")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise BenchError(f"unreadable run manifest ({e})", path, hint="rerun to rewrite the run folder") from None
    return Manifest.from_dict(data, str(path))


def _read_csv(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    import pandas as pd

    if not path.is_file():
        raise BenchError("missing run file", path, hint="pass a folder written by `bench run` or `bench compare`")
    try:
        df = pd.read_csv(path)
    except (ValueError, UnicodeDecodeError) as e:
        raise BenchError(f"unreadable table ({e})", path, hint="rerun to rewrite the run folder") from None
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise BenchError(f"table lacks column(s) {', '.join(missing)}", path, hint="rerun to rewrite the run folder")
    return df


def _write_csv(path: Path, df: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)


# ---- breakdown tables -----------------------------------------------------------------------------------------------


def write_breakdown(folder: Path, name: str, tables: BreakdownTables) -> None:
    if tables.per_seq is not None:
        _write_csv(folder / f"{name}{PER_SEQ}.csv", tables.per_seq)
    _write_csv(folder / f"{name}.csv", tables.combined)


def load_breakdown(folder: Path, name: str) -> BreakdownTables | None:
    """A breakdown's stored tables (the per-sequence one may be absent, as in an ablation's pool); None when the
    folder has no combined table of that name."""
    if not (folder / f"{name}.csv").is_file():
        return None
    per_seq = folder / f"{name}{PER_SEQ}.csv"
    return BreakdownTables(_read_csv(per_seq, ("tracker", "seq")) if per_seq.is_file() else None,
                           _read_csv(folder / f"{name}.csv", ("tracker",)))


# ---- what other stages add to a run folder ---------------------------------------------------------------------------


def write_test_metrics(folder: Path, metrics: pd.DataFrame) -> None:
    _write_csv(folder / TEST / METRICS, metrics)


def write_significance(folder: Path, comps: pd.DataFrame) -> None:
    _write_csv(folder / SIGNIFICANCE, comps)


def write_events(folder: Path, events: pd.DataFrame) -> None:
    _write_csv(folder / EVENTS, events)


def read_events(folder: Path) -> pd.DataFrame | None:
    """The run's error events (None for runs made before the evaluation stored them)."""
    path = folder / EVENTS
    return _read_csv(path, ("tracker", "seq")).astype({"seq": str, "tracker": str}) if path.is_file() else None


def write_occlusion_significance(folder: Path, comps: pd.DataFrame) -> None:
    _write_csv(folder / OCCLUSION_SIGNIFICANCE, comps)


# ---- ablation folders ------------------------------------------------------------------------------------------------


def write_ablation(folder: Path, info: dict[str, Any], table: pd.DataFrame) -> None:
    """ablation.csv (one row per (variant, seed)), then ablation.json (what was run)."""
    _write_csv(folder / ABLATION_TABLE, table)
    with atomic_path(folder / ABLATION_INFO) as tmp:
        tmp.write_text(json.dumps(info, indent=2))


def read_ablation(folder: Path) -> tuple[dict[str, Any], pd.DataFrame]:
    """(ablation.json as a dict, ablation.csv); a missing or unparsable file is one error naming it."""
    for name in (ABLATION_INFO, ABLATION_TABLE):
        if not (folder / name).is_file():
            raise BenchError("missing ablation file", folder / name, hint="pass a folder written by `bench ablate`")
    try:
        info = json.loads((folder / ABLATION_INFO).read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise BenchError(f"unreadable ablation record ({e!r})", folder / ABLATION_INFO,
                         hint="rerun `bench ablate` to rewrite it") from None
    if not isinstance(info, dict):
        raise BenchError("an ablation record is a JSON object", folder / ABLATION_INFO,
                         hint="rerun `bench ablate` to rewrite it")
    return info, _read_csv(folder / ABLATION_TABLE, ("variant",))


def ablation_info_path(folder: Path) -> Path:
    """The file that names an ablation's record in messages."""
    return folder / ABLATION_INFO


# ---- tuning studies --------------------------------------------------------------------------------------------------


def write_study(folder: Path, info: dict[str, Any], trials: pd.DataFrame, best_toml: str) -> list[Path]:
    """A study's record: best.toml (for `--params`), trials.csv, tune.json; returns their paths."""
    atomic_write_text(folder / TUNE_PARAMS, best_toml)
    _write_csv(folder / TUNE_TRIALS, trials)
    atomic_write_json(folder / TUNE_INFO, info)
    return [folder / TUNE_PARAMS, folder / TUNE_TRIALS, folder / TUNE_INFO]


def study_params(folder: Path) -> Path:
    """Where a study's best parameters are (for messages: `bench run --params FILE`)."""
    return folder / TUNE_PARAMS
