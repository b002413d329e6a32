"""`bench run` as explicit stages, read top to bottom in `run_suite`:

    plan_run → detect → reid_checkpoints → embed → track_jobs → run_jobs → (write_tracks, evaluate_run)
             → evaluate_breakdowns → write_run

Each stage is a function with typed input and output. The unit of work is `bench.track.jobs.TrackJob` (one tracker on
one sequence, content key `job.key()`), run by `run_jobs` on a `bench.core.backends.Backend` (joblib/loky or Dask); each
result is cached by that key, so a rerun of an interrupted run tracks only the jobs that had not finished. The run
folder is built under a temporary name and renamed when complete, so a failed, interrupted or killed run leaves no
half-written results; its name is claimed by a lock for the run's lifetime, so concurrent runs never share one.
What the folder holds, and how it is read back, is `bench.core.record`'s. `prepare_inputs` is the same detections and
embeddings stages for a client that tracks its own way (`bench tune`), with no run folder.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from bench.core.backends import Backend, run_units
from bench.core.cache import ArrayCache
from bench.core.config import Config
from bench.detect.scores import off_scale_warning
from bench.detect.sources import load_detections, make_source
from bench.core.device import resolve_device, uses_device
from bench.core.errors import BenchError
from bench.evaluate.score import evaluate
from bench.core.fsutil import (
    atomic_dir,
    file_lock,
    lock_path,
    remove_stale_locks,
    remove_stale_temp,
)
from bench.data.mot_io import write_results
from bench.core.progress import Reporter, SilentReporter
from bench.core.record import Manifest, RunRecord, SuiteRecord, git_commit, new_folder, package_versions, \
    run_folder, write_test_metrics
from bench.evaluate.stage import evaluate_breakdowns, evaluate_trackers, report_crosscheck
from bench.data.suites import Sequence, Suite
from bench.core.trackers_registry import REGISTRY
from bench.track.jobs import TrackJob, TrackOutput, track_job, track_sequence


# (cfg, tracker, suite, seed, device) → checkpoint path; the default trains on the suite's train split when needed
CheckpointProvider = Callable[[Config, str, Suite, int, str, Reporter], Path]  # (cfg, tracker, suite, seed, device, reporter)


def ensure_checkpoint(cfg: Config, tracker: str, suite: Suite, seed: int, device: str, reporter: Reporter) -> Path:
    """`bench.appearance.checkpoints.ensure_checkpoint`, imported (with torch) only when a run first needs a Re-ID
    checkpoint: a run of motion trackers, or one refused by its checks, never loads the Re-ID stack."""
    from bench.appearance.checkpoints import ensure_checkpoint as ensure

    return ensure(cfg, tracker, suite, seed, device, reporter)


# ---- stage 1: what to run ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunPlan:
    cfg: Config
    suite: Suite
    trackers: tuple[str, ...]
    run_id: str
    run_dir: Path
    device: str
    seqs: tuple[Sequence, ...]  # val: tracked and evaluated
    started: float
    test_seqs: tuple[Sequence, ...] = ()  # test: tracked and written to test/; evaluated only when all have gt

    @property
    def all_seqs(self) -> tuple[Sequence, ...]:
        return self.seqs + self.test_seqs


def _claim(run_dir: Path, claims: ExitStack | None) -> bool:
    """Lock `run_dir`'s name for this process until `claims` closes (True), or False when another live run has it."""
    return claims is None or claims.enter_context(file_lock(lock_path(run_dir), wait=False))


def plan_run(cfg: Config, suite: Suite, trackers: list[str], run_id: str | None = None, run_dir: Path | None = None,
             claims: ExitStack | None = None) -> RunPlan:
    """Resolve ids, folder, device and sequences. `run_id` must be a plain name; `run_dir` (internal, e.g. an
    ablation's nested folders, whose caller holds the folder's lock) is taken as given. An existing run folder is an
    error, never replaced. With `claims`, the run folder's name is locked until it closes: two runs started in the
    same second with the same config get `<id>` and `<id>-2`, and a `--run-id` another live run is using is an error."""
    started = time.time()
    if run_dir is None and run_id is None:
        base = time.strftime("%Y%m%d-%H%M%S") + f"-{cfg.hash()[:6]}"
        for n in itertools.count(1):
            run_dir = cfg.results_dir / (base if n == 1 else f"{base}-{n}")
            if not run_dir.exists() and _claim(run_dir, claims) and not run_dir.exists():
                break
        run_id = run_dir.name
    elif run_dir is None:
        run_dir = run_folder(cfg.results_dir, run_id)
        if not _claim(run_dir, claims):
            raise BenchError("another bench run is writing this run folder now", run_dir, hint="use another --run-id")
        new_folder(run_dir)  # finished between the check above and the claim
    else:
        run_id = run_id or run_dir.name
        new_folder(run_dir)
    for t in trackers:
        if t not in REGISTRY:
            raise BenchError(f"unknown tracker {t!r}", hint=f"known: {', '.join(REGISTRY)}")
    remove_stale_temp(run_dir.parent)
    remove_stale_locks(run_dir.parent)
    # `auto` for a run where nothing uses a device (motion trackers on detection files) is the CPU, where it runs:
    # no torch to import, and no CUDA named in the record of a run that never used it.
    device = resolve_device(cfg.run.device if uses_device(cfg, trackers) or cfg.run.device != "auto" else "cpu")
    val, test = tuple(suite.split("val")), tuple(suite.split("test"))
    clash = sorted({s.name for s in val} & {s.name for s in test})
    if clash:
        raise BenchError(f"suite {suite.name!r}: {', '.join(clash)} is both a val and a test sequence",
                         hint="sequence names must be unique across val/ and test/")
    return RunPlan(cfg, suite, tuple(trackers), run_id, run_dir, device, val, started, test)


# ---- stage 2: detections -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunDetections:
    source: dict[str, Any]  # {"source": name, "params": {...}}: the detections' identity, also keys embeddings
    frames: dict[str, list[np.ndarray]]  # sequence → per-frame (n, 5) x1, y1, x2, y2, score
    timing: dict[str, Any]


def detect(plan: RunPlan, cache: ArrayCache, reporter: Reporter | None = None) -> RunDetections:
    t0 = time.perf_counter()
    source = make_source(plan.cfg, plan.device)
    frames, hits, off_scale = {}, 0, {}
    for seq in plan.all_seqs:
        frames[seq.name], hit = load_detections(source, seq, cache)
        hits += hit
        scores = np.concatenate([f[:, 4] for f in frames[seq.name]]) if frames[seq.name] else np.zeros(0)
        if hasattr(source, "path") and len(scores) and scores.max() > 1.0:  # det files (YOLOX's are 0-1)
            off_scale[str(source.path(seq))] = (float(scores.min()), float(scores.max()))
    warning = off_scale_warning(off_scale, plan.cfg.detections.score_scale)
    if warning and reporter is not None:
        reporter.message(warning)
    timing = {"seconds": time.perf_counter() - t0, "cache_hits": hits, "sequences": len(plan.all_seqs)}
    return RunDetections({"source": source.name, "params": source.params()}, frames, timing)


# ---- stage 3: Re-ID checkpoints (an explicit step: the provider trains or finds them) ----------------------------


def reid_checkpoints(
    plan: RunPlan, provider: CheckpointProvider = ensure_checkpoint, reporter: Reporter | None = None
) -> dict[str, tuple[Path, float]]:
    """Checkpoint path (and seconds spent getting it) for each appearance tracker of the run."""
    out = {}
    for name in plan.trackers:
        if REGISTRY[name].needs_features:
            t0 = time.perf_counter()
            path = provider(plan.cfg, name, plan.suite, plan.cfg.run.seed, plan.device, reporter or SilentReporter())
            out[name] = (path, time.perf_counter() - t0)
    return out


# ---- stage 4: embeddings -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Embeddings:
    features: dict[str, dict[str, list[np.ndarray]]]  # tracker → sequence → per-frame (n, D) embeddings
    meta: dict[str, Any]  # tracker → checkpoint metadata (configs, metrics, sha256), for the manifest
    timing: dict[str, Any]


def embed(plan: RunPlan, dets: RunDetections, checkpoints: dict[str, tuple[Path, float]], cache: ArrayCache
          ) -> Embeddings:
    """Each appearance tracker's features of every sequence; a sequence's crops are cut once for all models (the
    first model that misses the cache pays for them in its embedding_seconds)."""
    if not checkpoints:
        return Embeddings({}, {}, {})
    from bench.appearance.checkpoints import load_checkpoint  # torch: only for a run with appearance trackers
    from bench.appearance.embeddings import SharedCrops, load_embeddings

    embedders, meta, seconds, hits = {}, {}, {}, {}
    for name, (path, ckpt_seconds) in checkpoints.items():
        t0 = time.perf_counter()
        precision = plan.cfg.reid.section(name).train.precision  # the model's arithmetic, in training and here
        embedders[name], meta[name] = load_checkpoint(path, plan.device, plan.cfg.reid.embed_batch_size, precision)
        meta[name]["embedding_precision"] = embedders[name].precision
        seconds[name], hits[name] = ckpt_seconds + time.perf_counter() - t0, 0
    features: dict[str, dict[str, list[np.ndarray]]] = {name: {} for name in embedders}
    embedding_seconds = dict.fromkeys(embedders, 0.0)
    for seq in plan.all_seqs:
        crops = SharedCrops(seq, dets.frames[seq.name])
        for name, embedder in embedders.items():
            t1 = time.perf_counter()
            features[name][seq.name], hit = load_embeddings(embedder, seq, dets.frames[seq.name], dets.source, cache,
                                                            crops)
            hits[name] += hit
            embedding_seconds[name] += time.perf_counter() - t1
    crops_total = sum(len(d) for f in dets.frames.values() for d in f)
    timing = {name: {"checkpoint_seconds": seconds[name], "embedding_seconds": embedding_seconds[name],
                     "cache_hits": hits[name], "crops": crops_total} for name in embedders}
    return Embeddings(features, meta, timing)


# ---- detections and embeddings for a client that tracks its own way (bench tune) ----------------------------------


@dataclass(frozen=True)
class PreparedInputs:
    plan: RunPlan
    detections: RunDetections
    embeddings: Embeddings  # of the appearance trackers among `plan.trackers`


def prepare_inputs(cfg: Config, suite: Suite, trackers: list[str], seqs: list[Sequence],
                   reporter: Reporter | None = None, checkpoints: CheckpointProvider = ensure_checkpoint
                   ) -> PreparedInputs:
    """Detections and Re-ID embeddings of `seqs` of `suite` for `trackers`, through the run's own stages and cache
    (checkpoints trained on the suite's train split when needed); no run folder is made."""
    for t in trackers:
        if t not in REGISTRY:
            raise BenchError(f"unknown tracker {t!r}", hint=f"known: {', '.join(REGISTRY)}")
    reporter = reporter or SilentReporter()
    plan = RunPlan(cfg, suite, tuple(trackers), "", cfg.results_dir, resolve_device(cfg.run.device), tuple(seqs),
                   time.time())
    cache = ArrayCache(cfg.cache_dir, warn=reporter.message)
    dets = detect(plan, cache, reporter)
    return PreparedInputs(plan, dets, embed(plan, dets, reid_checkpoints(plan, checkpoints, reporter), cache))


# ---- stage 5: tracking -------------------------------------------------------------------------------------------


def track_jobs(plan: RunPlan, dets: RunDetections, emb: Embeddings) -> list[TrackJob]:
    """One job per (tracker, sequence), holding everything its result depends on."""
    return [
        track_job(plan.cfg, name, s.name, s.info.fps, dets.frames[s.name],
                  emb.features[name][s.name] if name in emb.features else None)
        for name in plan.trackers
        for s in plan.all_seqs
    ]


def run_jobs(
    jobs: list[TrackJob],
    backend: Backend,
    reporter: Reporter,
    on_output: Callable[[TrackOutput], None],
    cache: ArrayCache | None = None,
) -> list[TrackOutput]:
    """Each job's output: from the tracks cache (keyed by `job.key()`), else tracked on `backend` and stored in the
    cache as it arrives, so an interrupted run keeps its finished jobs. `on_output` sees each result (cached ones
    first, then in completion order)."""
    outputs, todo = [], []

    def done(out: TrackOutput) -> None:
        on_output(out)
        outputs.append(out)
        task.advance()

    with reporter.progress(f"tracking {len(jobs)} jobs", total=len(jobs)) as task:
        for job in jobs:
            df = cache.get("tracks", _tracks_key(job), _tracks_label(job)) if cache else None
            if df is None:
                todo.append(job)
            else:
                done(TrackOutput.from_frame(job, df, cached=True))
        by_id = {(j.tracker, j.seq): j for j in todo}
        for out in run_units(track_sequence, todo, backend, keys=[j.key() for j in todo]):
            if cache:
                job = by_id[out.tracker, out.seq]
                cache.get_or_compute("tracks", _tracks_key(job), out.to_frame, _tracks_label(job))
            done(out)
    return outputs


def _tracks_key(job: TrackJob) -> dict[str, str]:
    return {"source": f"tracks:{job.tracker}", "job": job.key()}


def _tracks_label(job: TrackJob) -> str:
    return job.seq


def write_tracks(folder: Path, out: TrackOutput, plan: RunPlan) -> None:
    """`<tracker>/<SEQ>.txt` for val sequences, `test/<tracker>/<SEQ>.txt` for test sequences."""
    test = out.seq in {s.name for s in plan.test_seqs}
    write_results((folder / "test" if test else folder) / out.tracker / f"{out.seq}.txt", out.rows)


# ---- stage 6: evaluation -----------------------------------------------------------------------------------------


def tracking_timing(outputs: list[TrackOutput]) -> dict[str, dict[str, dict[str, float]]]:
    t: dict[str, dict[str, dict[str, float]]] = {}
    for o in outputs:
        t.setdefault(o.tracker, {})[o.seq] = {"frames": o.frames, "seconds": o.seconds, "fps": o.fps}
    return t


def evaluate_run(
    plan: RunPlan, folder: Path, outputs: list[TrackOutput], reporter: Reporter
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-sequence and COMBINED metrics (with tracker FPS) and the py-motmetrics cross-check, for every tracker."""
    timing = tracking_timing(outputs)
    fps = {}
    for name in plan.trackers:
        t = {s.name: timing[name][s.name] for s in plan.seqs}  # FPS of the evaluated (val) sequences
        fps[name] = {s: v["fps"] for s, v in t.items()}
        fps[name]["COMBINED"] = sum(v["frames"] for v in t.values()) / max(sum(v["seconds"] for v in t.values()), 1e-9)
    metrics, checks, _ = evaluate_trackers(folder, list(plan.trackers), plan.suite.root, [s.name for s in plan.seqs],
                                           plan.suite.benchmark, reporter, fps)
    report_crosscheck(checks, plan.run_dir, reporter)
    return metrics, checks


def evaluate_test(plan: RunPlan, folder: Path, reporter: Reporter) -> None:
    """`test/metrics.csv` when every test sequence has gt (public test splits have none: results only)."""
    if not plan.test_seqs or not all(s.has_gt for s in plan.test_seqs):
        return
    tables = []
    for name in plan.trackers:
        result = evaluate(folder / "test" / name, plan.suite.gt_root("test"), seqs=[s.name for s in plan.test_seqs],
                          benchmark=plan.suite.benchmark, tracker_name=f"{name} (test)", reporter=reporter)
        tables.append(result.metrics.reset_index().assign(tracker=name))
    write_test_metrics(folder, pd.concat(tables, ignore_index=True))


# ---- stage 7: write ----------------------------------------------------------------------------------------------


RunResult = RunRecord  # what a run produced: in memory, and on disk through bench.core.record


def build_manifest(plan: RunPlan, dets: RunDetections, emb: Embeddings, outputs: list[TrackOutput]) -> Manifest:
    cfg, suite = plan.cfg, plan.suite
    timings: dict[str, Any] = {"detections": dets.timing, "tracking": tracking_timing(outputs)}
    timings["tracks"] = {"cache_hits": sum(o.cached for o in outputs), "jobs": len(outputs)}
    if emb.timing:
        timings["reid"] = emb.timing
    timings["total_seconds"] = time.time() - plan.started
    return Manifest(
        run_id=plan.run_id,
        suite=SuiteRecord(suite.name, str(suite.root), suite.benchmark, [s.name for s in plan.seqs],
                          [s.name for s in plan.test_seqs], suite.benchmark_reason),
        trackers=list(plan.trackers),
        config=cfg.to_dict(),
        config_hash=cfg.hash(),
        git_commit=git_commit(),
        packages=package_versions(),
        device=plan.device,
        seed=cfg.run.seed,
        jobs=cfg.run.jobs,
        detections=dets.source,
        reid=emb.meta,
        timings=timings,
        started=time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(plan.started)),
    )


def write_run(folder: Path, result: RunRecord) -> None:
    result.write(folder)


# ---- the run -----------------------------------------------------------------------------------------------------


def run_suite(
    cfg: Config,
    suite: Suite,
    trackers: list[str],
    run_id: str | None = None,
    *,
    run_dir: Path | None = None,
    checkpoints: CheckpointProvider = ensure_checkpoint,
    reporter: Reporter | None = None,
    backend: Backend | None = None,
    finish: Callable[[Path], object] | None = None,
    extra_manifest: dict[str, Any] | None = None,
) -> RunResult:
    """Track the suite's val sequences with each tracker, evaluate, and write `results/<run-id>/`. Tracking runs on
    `backend` (default: `run.backend`, `run.jobs` and `run.scheduler` of the config). `finish` (e.g. the report)
    writes into the folder before it is published, so a run that fails there (a full disk) leaves no folder.
    `extra_manifest` sets fields of the manifest (e.g. `tuning` and `notes` from `bench run --tuned N`)."""
    reporter = reporter or SilentReporter()
    backend = backend or Backend(cfg.run.backend, cfg.run.jobs, cfg.run.scheduler)
    with ExitStack() as claims:
        plan = plan_run(cfg, suite, trackers, run_id, run_dir, claims)
        return _run_planned(plan, checkpoints, reporter, backend, finish, extra_manifest)


def _run_planned(plan: RunPlan, checkpoints: CheckpointProvider, reporter: Reporter, backend: Backend,
                 finish: Callable[[Path], object] | None, extra_manifest: dict[str, Any] | None = None) -> RunResult:
    cache = ArrayCache(plan.cfg.cache_dir, warn=reporter.message)
    dets = detect(plan, cache, reporter)
    emb = embed(plan, dets, reid_checkpoints(plan, checkpoints, reporter), cache)
    jobs = track_jobs(plan, dets, emb)
    with atomic_dir(plan.run_dir, replace=False) as tmp:
        outputs = run_jobs(jobs, backend, reporter, on_output=lambda out: write_tracks(tmp, out, plan), cache=cache)
        metrics, crosscheck = evaluate_run(plan, tmp, outputs, reporter)
        evaluate_test(plan, tmp, reporter)
        breakdowns, reasons = evaluate_breakdowns(tmp, list(plan.trackers), plan.suite.root,
                                                  [s.name for s in plan.seqs], plan.suite.benchmark)
        manifest = dataclasses.replace(build_manifest(plan, dets, emb, outputs), breakdowns=reasons,
                                       **(extra_manifest or {}))
        result = RunRecord(plan.run_dir, manifest, metrics, crosscheck, breakdowns)
        write_run(tmp, result)
        if finish is not None:
            finish(tmp)
    return result
