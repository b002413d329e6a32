"""`bench tune TRACKER`: hyper-parameter search with Optuna (TPE, seeded) on the suite's train split, never val/test.

What a trial costs. Detections and Re-ID embeddings of the tuning sequences are computed (or read from the cache)
once per study, exactly as `bench run` gets them (`bench.commands.run.detect`, `reid_checkpoints`, `embed`); a trial only
tracks them with new parameters (`bench.track.jobs.track_sequence`) and scores the result with TrackEval
(`bench.evaluate.score.score_sequence`, the TrackEval part of `bench eval`), so no trial detects, embeds or trains. The
result file is written and parsed back as `bench run` writes and reads it, so the objective is the metric `bench
run` would report on those sequences.

Which sequences. `tune.split = "train"` (default): every train sequence. The appearance trackers then use the Re-ID
model trained on those same sequences (the model `bench run` uses), whose embeddings of identities it was trained on
are better than of unseen ones: tuning is optimistic for them (thresholds on feature distance fit a too-clean
distance distribution). `tune.split = "tune"` carves the last `tune.holdout` train sequences off as a tune split and
trains the appearance models for tuning on the other train sequences only (identities are disjoint between
sequences in the synth suites), at the cost of one more Re-ID training per appearance tracker and fewer sequences in
the objective. Val and test sequences are never handed to any stage of a study (not even for the Re-ID model's
retrieval report), so a study cannot read them.

Search space. Each tracker's config class declares `TUNABLE = {field: bounds or None}`; None takes the bounds from
the field's declared range (`metadata={"range": ...}`), bounds are needed where that range is unbounded. Booleans
and fields with `choices` are categorical. `[tune.space.<tracker>]` in bench.toml overrides it per field: `[lo, hi]`,
a list of choices, `true` (declared range) or `false` (not tuned).

Studies. One SQLite file (Optuna's RDB storage) per study under `results/tune/<suite>-<tracker>-<key>/`, the key
being the content of everything the objective depends on (tracker and its other parameters, space, metric,
sequences and their detections and features, output filter, seed) but not the number of trials, so a longer study
extends a shorter one. The first trial is the tracker's configured parameters. The sampler is re-seeded from
(seed, completed trials) before each batch, so with one job the study's trials depend only on the seed and its own
history: a study that was killed and resumed has the trials an uninterrupted one has. Trials that were running when
a study was killed are marked failed on resume and their parameters evaluated again first. Batches of `jobs` trials
run in parallel on the run's backend, one unit per (trial, sequence).
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import shutil
import tempfile
import time
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.core import metric_catalog, record
from bench.core.backends import Backend, dask_client, run_units
from bench.core.config import Config, apply_mapping, read_toml
from bench.core.errors import BenchError
from bench.core.fsutil import file_lock, stable_hash
from bench.core.progress import Reporter, SilentReporter
from bench.core.typed_toml import in_range
from bench.data.suites import Sequence, Suite
from bench.core.trackers_registry import REGISTRY, TrackerEntry, tracker_params
from bench.present.tuning import show

REFUSED_SPLITS = ("val", "test")
STUDY_NAME = "bench-tune"


# ---- search space --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dim:
    """One searched parameter: float/int in [low, high] (both ends included) or a categorical choice."""

    name: str
    kind: str  # "float" | "int" | "choice"
    low: float = 0.0
    high: float = 0.0
    choices: tuple[Any, ...] = ()

    def suggest(self, trial: Any) -> Any:
        if self.kind == "float":
            return trial.suggest_float(self.name, self.low, self.high)
        if self.kind == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high))
        return trial.suggest_categorical(self.name, list(self.choices))

    def contains(self, value: Any) -> bool:
        if self.kind == "choice":
            return value in self.choices
        return isinstance(value, (int, float)) and not isinstance(value, bool) and self.low <= value <= self.high

    def describe(self) -> str:
        return f"{{{', '.join(map(str, self.choices))}}}" if self.kind == "choice" else f"[{self.low:g}, {self.high:g}]"


def _declared_bounds(spec: str, integer: bool) -> tuple[float, float]:
    """Closed search bounds inside a declared range: an open end moves inwards (next float, next integer)."""
    lo, hi = (float(x) for x in spec[1:-1].split(","))
    if spec[0] == "(":
        lo = lo + 1 if integer else float(np.nextafter(lo, np.inf))
    if spec[-1] == ")":
        hi = hi - 1 if integer else float(np.nextafter(hi, -np.inf))
    return lo, hi


def _dim(f: dataclasses.Field, tp: Any, bounds: Any, key: str) -> Dim:
    args = set(typing.get_args(tp)) - {type(None)} or {tp}
    choices = f.metadata.get("choices")
    if tp is bool or choices is not None:
        allowed = tuple(choices) if choices is not None else (False, True)
        picked = tuple(bounds) if bounds is not None else allowed
        bad = [c for c in picked if c not in allowed]
        if bad or len(picked) < 2:
            raise BenchError(f"{key}: choices {list(picked)} must be two or more of {list(allowed)}", "tune.space")
        return Dim(f.name, "choice", choices=picked)
    integer = args == {int}
    if not integer and not args <= {int, float}:
        raise BenchError(f"{key}: a {tp} field cannot be tuned", "tune.space", hint="tune numbers, booleans, choices")
    spec = f.metadata.get("range")
    if bounds is None:
        if spec is None:
            raise BenchError(f"{key} declares no range", "tune.space", hint=f"set {key} = [lo, hi]")
        lo, hi = _declared_bounds(spec, integer)
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise BenchError(f"{key}: its declared range {spec} is unbounded", "tune.space",
                             hint=f"set search bounds, e.g. {key} = [lo, hi]")
    else:
        if (len(bounds) != 2 or not all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in bounds)
                or (integer and not all(float(b).is_integer() for b in bounds))):
            raise BenchError(f"{key} = {list(bounds)}: expected [lo, hi]" + (" (integers)" if integer else ""),
                             "tune.space")
        lo, hi = float(bounds[0]), float(bounds[1])
        if spec is not None:
            for b in (lo, hi):
                if not in_range(b, spec):
                    raise BenchError(f"{key}: bound {b:g} lies outside the field's range", "tune.space",
                                     hint=f"allowed: {spec}")
    if not lo < hi:
        raise BenchError(f"{key}: empty search interval [{lo:g}, {hi:g}]", "tune.space", hint="use lo < hi")
    return Dim(f.name, "int" if integer else "float", lo, hi)


def search_space(cfg: Config, tracker: str) -> list[Dim]:
    """The tracker's declared TUNABLE fields with `[tune.space.<tracker>]` applied (errors name the key)."""
    for name in cfg.tune.space:
        if name not in REGISTRY:
            raise BenchError(f"unknown tracker in 'tune.space.{name}'", "tune.space",
                             hint=f"known: {', '.join(REGISTRY)}")
    cls = REGISTRY[tracker].config_cls
    declared: dict[str, Any] = dict(getattr(cls, "TUNABLE", {}))
    override = cfg.tune.space.get(tracker, {})
    if not isinstance(override, dict):
        raise BenchError(f"tune.space.{tracker} must be a table of field = [lo, hi]", "tune.space")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for name, value in override.items():
        key = f"tune.space.{tracker}.{name}"
        if name not in fields:
            raise BenchError(f"unknown key {key!r}", "tune.space", hint=f"fields of {tracker}: {', '.join(fields)}")
        if value is False:
            declared.pop(name, None)
        elif value is True:
            declared[name] = None
        elif isinstance(value, list):
            declared[name] = tuple(value)
        else:
            raise BenchError(f"{key} = {value!r}: expected [lo, hi], a list of choices, true or false", "tune.space")
    hints = typing.get_type_hints(cls)
    dims = [_dim(fields[n], hints[n], b, f"tune.space.{tracker}.{n}") for n, b in declared.items()]
    if not dims:
        raise BenchError(f"{tracker} has no tunable parameters", hint=f"declare some in [tune.space.{tracker}]")
    return dims


# ---- the sequences a study may see ---------------------------------------------------------------------------------


def check_split(split: str) -> str:
    """train or tune; val and test are refused with the reason (they are what the tuned parameters are judged on)."""
    if split in REFUSED_SPLITS:
        raise BenchError(f"tune.split = {split!r}: tuning on {split} sequences would leak them into the evaluation",
                         hint="use train (the suite's train split) or tune (a tune split carved from it)")
    if split not in ("train", "tune"):
        raise BenchError(f"tune.split = {split!r} is not a valid choice", hint="use train or tune")
    return split


def tune_view(cfg: Config, suite: Suite) -> tuple[Suite, list[Sequence]]:
    """(the suite as a study sees it, the sequences the objective is computed on). The view holds train sequences
    only: with split "tune" the held-out ones are its val split (for the Re-ID model's retrieval report), the rest
    its train split (for training the Re-ID model)."""
    split = check_split(cfg.tune.split)
    train = suite.split("train")
    if not train:
        raise BenchError(f"suite {suite.name!r} has no train split to tune on",
                         hint="tuning never uses val or test sequences; give the suite a train/ folder or use "
                              "--set suite.split=half")
    if split == "train":
        return Suite(suite.name, train[0].path.parent, tuple(train), suite.benchmark), list(train)
    n = cfg.tune.holdout
    if n >= len(train):
        raise BenchError(f"tune.holdout = {n} leaves no train sequence of suite {suite.name!r} ({len(train)}) for the "
                         "Re-ID models", hint="lower tune.holdout or use tune.split = train")
    keep, held = list(train[:-n]), [dataclasses.replace(s, split="val") for s in train[-n:]]
    return Suite(f"{suite.name}-tune", held[0].path.parent, tuple(keep + held), suite.benchmark), held


# ---- one trial on one sequence (the unit of work) -----------------------------------------------------------------


@dataclass(frozen=True)
class SeqData:
    """Everything a trial needs of one sequence, loaded once per study."""

    name: str
    fps: float
    length: int
    frames: list[np.ndarray]
    features: list[np.ndarray] | None
    gt: Any  # bench.data.mot_fast.TextRows of its gt
    gt_root: Path


@dataclass(frozen=True)
class TrialUnit:
    trial: int
    tracker: str
    params: dict[str, Any]
    seq: SeqData
    min_box_area: float
    aspect_ratio_thresh: float
    benchmark: str
    scratch: Path
    entry: TrackerEntry | None = None


def score_unit(unit: TrialUnit) -> tuple[int, str, dict[str, dict], float]:
    """Track one sequence with the trial's parameters and score it with TrackEval: (trial, seq, TrackEval's
    per-sequence result, tracker seconds). The result file lives in a scratch folder only while it is scored."""
    from bench.evaluate.inputs import EvalInputs
    from bench.evaluate.score import score_sequence
    from bench.data.mot_io import write_results
    from bench.data.mot_fast import load_rows
    from bench.track.jobs import TrackJob, track_sequence

    s = unit.seq
    job = TrackJob(entry=unit.entry or REGISTRY[unit.tracker], params=unit.params, seq=s.name, frame_rate=s.fps,
                   frames=s.frames, features=s.features, min_box_area=unit.min_box_area,
                   aspect_ratio_thresh=unit.aspect_ratio_thresh)
    out = track_sequence(job)
    unit.scratch.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f"t{unit.trial}-", dir=unit.scratch))
    try:
        write_results(folder / f"{s.name}.txt", out.rows)  # as `bench run` writes it (boxes rounded to 0.01)
        res = load_rows(folder / f"{s.name}.txt", "results")
        inputs = EvalInputs(folder, s.gt_root, [s.name], {s.name: s.gt}, {s.name: res}, {s.name: s.length},
                            unit.benchmark)
        scored = score_sequence(inputs, s.name, parts=("trackeval",))["trackeval"]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return unit.trial, s.name, scored, out.seconds


def combined_metrics(per_seq: dict[str, dict[str, dict]]) -> dict[str, float]:
    """The COMBINED row `bench eval` reports for these per-sequence TrackEval results."""
    from bench.evaluate import trackeval_adapter

    return trackeval_adapter.metrics_row(trackeval_adapter.combine(per_seq))


# ---- a study -------------------------------------------------------------------------------------------------------


@dataclass
class StudyData:
    tracker: str
    base: dict[str, Any]  # the tracker's configured parameters (trial 0 and everything not tuned)
    dims: list[Dim]
    seqs: list[SeqData]
    view: Suite
    key: str
    folder: Path
    reid: dict[str, Any]  # checkpoint metadata of an appearance tracker (for the record)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "suite"


def prepare(cfg: Config, suite: Suite, tracker: str, reporter: Reporter | None = None) -> StudyData:
    """Detections, embeddings and gt of the tuning sequences (cached like `bench run`'s), and the study's key."""
    from bench.commands.run import prepare_inputs
    from bench.data.mot_fast import load_rows
    from bench.track.jobs import arrays_digest

    reporter = reporter or SilentReporter()
    if tracker not in REGISTRY:
        raise BenchError(f"unknown tracker {tracker!r}", hint=f"known: {', '.join(REGISTRY)}")
    dims = search_space(cfg, tracker)
    view, seqs = tune_view(cfg, suite)
    prepared = prepare_inputs(cfg, view, [tracker], seqs, reporter)
    dets, emb = prepared.detections, prepared.embeddings
    data = []
    for s in seqs:
        if not s.has_gt:
            raise BenchError(f"train sequence {s.name} has no gt to tune on", s.gt_path)
        feats = emb.features[tracker][s.name] if REGISTRY[tracker].needs_features else None
        data.append(SeqData(s.name, s.info.fps, s.info.length, dets.frames[s.name], feats,
                            load_rows(s.gt_path, "gt"), s.path.parent))
    base = tracker_params(tracker, cfg.trackers)
    key = stable_hash({
        "tracker": tracker, "base": base, "space": [dataclasses.asdict(d) for d in dims],
        "metric": objective_metric(cfg),
        "split": cfg.tune.split, "holdout": cfg.tune.holdout if cfg.tune.split == "tune" else None,
        "seed": cfg.run.seed, "benchmark": view.benchmark, "filter": [cfg.output.min_box_area,
                                                                      cfg.output.aspect_ratio_thresh],
        "seqs": [[d.name, d.fps, d.length, arrays_digest(d.frames), arrays_digest(d.features),
                  arrays_digest([d.gt.rows])] for d in data],
    })
    folder = cfg.results_dir / "tune" / f"{_safe(suite.name)}-{tracker}-{key[:10]}"
    return StudyData(tracker, base, dims, data, view, key, folder, emb.meta.get(tracker, {}))


@contextmanager
def study_lock(folder: Path) -> Iterator[None]:
    """One process per study at a time (a second `bench tune` of the same study would fail the first's trials)."""
    folder.mkdir(parents=True, exist_ok=True)
    with file_lock(folder / ".lock", wait=False) as held:
        if not held:
            raise BenchError("this study is being run by another process", folder,
                             hint="wait for it to finish (it resumes from the same study file)")
        yield


def objective_metric(cfg: Config) -> str:
    """tune.metric, or the primary metric of the analysis when it is unset."""
    return cfg.tune.metric or cfg.analysis.primary


def direction(metric: str) -> str:
    return "minimize" if metric_catalog.lower_is_better(metric) else "maximize"


def open_study(folder: Path, seed: int, metric: str) -> Any:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.RDBStorage(f"sqlite:///{folder / 'study.db'}")
    return optuna.create_study(storage=storage, study_name=STUDY_NAME, direction=direction(metric),
                               load_if_exists=True, sampler=optuna.samplers.TPESampler(seed=seed))


def complete_trials(study: Any) -> list[Any]:
    from optuna.trial import TrialState

    return sorted(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)), key=lambda t: t.number)


def _killed_trial_params(trial: Any, dims: list[Dim]) -> dict[str, Any] | None:
    """What a trial killed before its result runs again with: its enqueued parameters (the configured ones of trial
    0, or an earlier re-run's), or all its drawn ones. A trial killed between its draws (each is a write to the study
    file) has only some: it is drawn again instead, by the sampler re-seeded as before that trial (a failed trial
    never counts), so the study goes on as an uninterrupted one; fixing the drawn half would change the other."""
    fixed = trial.system_attrs.get("fixed_params")
    if fixed:
        return dict(fixed)
    if {d.name for d in dims} <= set(trial.params):
        return dict(trial.params)
    return None


def _batch_seed(seed: int, done: int) -> int:
    return (seed * 1_000_003 + done) % 2**32


@contextmanager
def _study_backend(backend: Backend) -> Iterator[Backend]:
    """Dask without a scheduler: one LocalCluster for the whole study, not one per batch."""
    if backend.name != "dask" or backend.scheduler:
        yield backend
        return
    with dask_client(backend) as client:
        yield Backend("dask", backend.jobs, client.scheduler.address)


def optimise(data: StudyData, cfg: Config, trials: int, backend: Backend, reporter: Reporter | None = None
             ) -> tuple[Any, int]:
    """Run the study until it has `trials` completed trials; returns it and how many trials this call completed.
    Safe to call again after a kill."""
    import optuna
    from optuna.trial import TrialState

    reporter = reporter or SilentReporter()
    seed = cfg.run.seed
    with study_lock(data.folder):
        metric = objective_metric(cfg)
        study = open_study(data.folder, seed, metric)
        for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):  # killed mid-trial
            study.tell(t.number, state=TrialState.FAIL)
            rerun = _killed_trial_params(t, data.dims)
            if rerun is not None:
                study.enqueue_trial(rerun)
        if not study.trials:  # the configured parameters first: the tuned result is never below them here
            study.enqueue_trial({d.name: data.base[d.name] for d in data.dims if d.contains(data.base[d.name])})
        scratch = cfg.cache_dir / "tune-scratch"
        done = start = len(complete_trials(study))
        with reporter.progress(f"tuning {data.tracker} ({max(trials - done, 0)} trials)",
                               total=max(trials - done, 0)) as task, _study_backend(backend) as be:
            while done < trials:
                study.sampler = optuna.samplers.TPESampler(seed=_batch_seed(seed, done))
                asked = [study.ask() for _ in range(min(backend.jobs, trials - done))]
                params = {t.number: {d.name: d.suggest(t) for d in data.dims} for t in asked}
                by_number = {t.number: t for t in asked}
                units = [TrialUnit(n, data.tracker, {**data.base, **p}, s, cfg.output.min_box_area,
                                   cfg.output.aspect_ratio_thresh, data.view.benchmark, scratch,
                                   REGISTRY[data.tracker]) for n, p in params.items() for s in data.seqs]
                results: dict[int, dict[str, dict]] = {n: {} for n in params}
                seconds: dict[int, float] = {n: 0.0 for n in params}
                keys = [f"{data.key}-{u.trial}-{u.seq.name}" for u in units]
                for number, seq, scored, secs in run_units(score_unit, units, be, keys=keys):
                    results[number][seq] = scored
                    seconds[number] += secs
                    if len(results[number]) == len(data.seqs):
                        trial = by_number[number]
                        row = combined_metrics({s.name: results[number][s.name] for s in data.seqs})
                        for m in ("HOTA", "AssA", "DetA", "IDF1", "MOTA", "IDs"):
                            trial.set_user_attr(m, row[m])
                        trial.set_user_attr("tracker_seconds", seconds[number])
                        study.tell(trial, row[metric])
                        task.advance()
                done = len(complete_trials(study))
    return study, max(done - start, 0)


# ---- results -------------------------------------------------------------------------------------------------------


@dataclass
class TuneResult:
    tracker: str
    suite: str
    folder: Path
    budget: int  # trials the best is taken over (the first `budget` completed ones)
    metric: str
    split: str
    sequences: list[str]
    default_value: float | None  # the configured parameters' objective (trial 0)
    best_value: float
    best_params: dict[str, Any]
    configured: dict[str, Any]  # the configured values of the tuned parameters (trial 0)
    history: list[float]  # objective of each of the `budget` trials, in order
    importance: dict[str, float]
    trials_per_min: float  # over this call's trials (nan when all came from the study file)
    space: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["folder"] = str(self.folder)
        return d


def importances(study: Any, trials: list[Any], metric: str) -> dict[str, float]:
    """PED-ANOVA parameter importances (Optuna's, needs no scikit-learn); empty when too few trials to say."""
    import optuna
    from optuna.importance import PedAnovaImportanceEvaluator

    if len(trials) < 4:
        return {}
    copy = optuna.create_study(direction=direction(metric))
    copy.add_trials(trials)
    try:
        imp = optuna.importance.get_param_importances(copy, evaluator=PedAnovaImportanceEvaluator())
    except (RuntimeError, ValueError):  # e.g. every trial scored the same
        return {}
    return {k: float(v) for k, v in imp.items()}


def study_result(study: Any, data: StudyData, cfg: Config, budget: int, suite_name: str, rate: float) -> TuneResult:
    trials = complete_trials(study)[:budget]
    metric = objective_metric(cfg)
    sign = -1 if metric_catalog.lower_is_better(metric) else 1
    best = max(trials, key=lambda t: (sign * t.value, -t.number))
    default = trials[0].value if trials and all(trials[0].params.get(k) == v for k, v in
                                                 {d.name: data.base[d.name] for d in data.dims}.items()) else None
    return TuneResult(data.tracker, suite_name, data.folder, len(trials), metric, cfg.tune.split,
                      [s.name for s in data.seqs], default, float(best.value),
                      {d.name: best.params[d.name] for d in data.dims}, {d.name: data.base[d.name] for d in data.dims},
                      [float(t.value) for t in trials],
                      importances(study, trials, metric), rate, {d.name: d.describe() for d in data.dims})


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)  # repr of a float reads back to the same float
    return json.dumps(str(v))


def params_toml(result: TuneResult) -> str:
    """The best parameters as a bench.toml fragment for `bench run --params FILE` / `bench ablate --params FILE`."""
    default = show(result.default_value, result.metric)
    lines = [
        f"# bench tune {result.tracker} on {result.suite}: {result.split} split ({', '.join(result.sequences)}),",
        f"# best {result.metric} {show(result.best_value, result.metric)} (configured parameters: {default}) over "
        f"{result.budget} trials; study {result.folder / 'study.db'}",
        f"[trackers.{result.tracker}]",
        *(f"{k} = {_toml_value(v)}" for k, v in result.best_params.items()),
    ]
    return "\n".join(lines) + "\n"


def load_params(path: Path) -> dict[str, Any]:
    """A params file as dotted overrides (`trackers.<name>.<field>`); only [trackers.<name>] tables are allowed."""
    data = read_toml(path, "params file", hint="pass a best.toml written by `bench tune`")
    out: dict[str, Any] = {}
    for top, section in data.items():
        if top != "trackers" or not isinstance(section, dict):
            raise BenchError(f"unexpected key {top!r}", path, hint="a params file holds [trackers.<name>] tables only")
        for name, fields in section.items():
            if not isinstance(fields, dict):
                raise BenchError(f"trackers.{name} must be a table", path)
            out.update({f"trackers.{name}.{k}": v for k, v in fields.items()})
    return out


def apply_params(cfg: Config, files: list[Path]) -> Config:
    """Apply `--params FILE` files in order (same key and range checks as bench.toml)."""
    for f in files:
        cfg = apply_mapping(cfg, load_params(Path(f)), str(f))
    return cfg


def tune(cfg: Config, suite: Suite, tracker: str, trials: int | None = None, backend: Backend | None = None,
         reporter: Reporter | None = None) -> TuneResult:
    """Run (or extend, or just read) the study and write best.toml, trials.csv, tune.json, plots and tune.md."""
    trials = cfg.tune.trials if trials is None else trials
    if trials < 1:
        raise BenchError(f"--trials must be >= 1, got {trials}")
    backend = backend or Backend(cfg.run.backend, cfg.run.jobs, cfg.run.scheduler)
    data = prepare(cfg, suite, tracker, reporter)
    t0 = time.perf_counter()
    study, ran = optimise(data, cfg, trials, backend, reporter)
    rate = 60 * ran / (time.perf_counter() - t0) if ran else float("nan")
    result = study_result(study, data, cfg, trials, suite.name, rate)
    write_outputs(study, result, data)
    return result


def trials_frame(study: Any) -> pd.DataFrame:
    df = study.trials_dataframe(attrs=("number", "value", "state", "params", "user_attrs", "duration"))
    return df.rename(columns=lambda c: c.replace("params_", "").replace("user_attrs_", ""))


def write_outputs(study: Any, result: TuneResult, data: StudyData) -> list[Path]:
    """The study's record (best.toml, trials.csv, tune.json) and its report (tune.md, plots)."""
    from bench.present.tuning import study_report

    info = {**result.to_dict(), "key": data.key, "base": data.base, "reid": data.reid}
    paths = record.write_study(result.folder, info, trials_frame(study), params_toml(result))
    return paths + study_report(result, result.folder)


# ---- bench run --tuned N ------------------------------------------------------------------------------------------


def tune_all(cfg: Config, suite: Suite, trackers: list[str], budget: int, backend: Backend | None = None,
             reporter: Reporter | None = None) -> tuple[Config, dict[str, Any]]:
    """Tune every tracker with the same number of trials (studies cached by content key) and return the config with
    the tuned parameters and the manifest's `tuning` record."""
    from bench.core.device import resolve_device
    from bench.appearance.checkpoints import ensure_checkpoint

    if budget < 1:
        raise BenchError(f"--tuned must be >= 1, got {budget}")
    if cfg.tune.split == "train":  # the run's own checkpoints, trained (if not cached) with their val retrieval report
        device = resolve_device(cfg.run.device)
        for t in trackers:
            if REGISTRY[t].needs_features:
                ensure_checkpoint(cfg, t, suite, cfg.run.seed, device, reporter or SilentReporter())
    results = [tune(cfg, suite, t, budget, backend, reporter) for t in trackers]
    overrides = {f"trackers.{r.tracker}.{k}": v for r in results for k, v in r.best_params.items()}
    record = {
        "budget": budget, "metric": objective_metric(cfg), "split": cfg.tune.split, "seed": cfg.run.seed,
        "trackers": {r.tracker: {**r.to_dict(), "base": tracker_params(r.tracker, cfg.trackers)} for r in results},
    }
    return apply_mapping(cfg, overrides, "tuned parameters"), record
