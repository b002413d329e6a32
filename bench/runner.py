"""`bench run`: detections (cached) → trackers (parallel) → results files → evaluation, in one result folder.

The run folder is built under a temporary name and renamed when complete, so a failed or killed run leaves no
half-written results behind.
"""

from __future__ import annotations

import platform
import subprocess
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench.cache import ArrayCache
from bench.config import Config
from bench.detections import load_detections, make_source
from bench.evaluation import evaluate
from bench.fsutil import atomic_dir, atomic_write_json
from bench.mot_io import write_results
from bench.suites import Suite
from bench.tracking import TrackJob, track_sequence
from bench.embeddings import load_embeddings
from bench.reid import ensure_checkpoint, load_checkpoint
from bench.trackers_registry import NEEDS_FEATURES, tracker_params

console = Console(stderr=True)

PACKAGES = ("numpy", "scipy", "pandas", "lap", "trackeval", "motmetrics", "torch", "joblib")


def resolve_device(device: str) -> str:
    """`auto` → cuda when available, else cpu; `cuda` without CUDA is an error, never a silent CPU fallback."""
    import torch

    from bench.errors import BenchError

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise BenchError("run.device is 'cuda' but torch sees no CUDA device", hint="use --device cpu or auto")
    return device


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


def run_suite(cfg: Config, suite: Suite, trackers: list[str], run_id: str | None = None) -> Path:
    """Track the suite's val sequences with each tracker, evaluate, and write `results/<run-id>/`."""
    started = time.time()
    run_id = run_id or time.strftime("%Y%m%d-%H%M%S") + f"-{cfg.hash()[:6]}"
    run_dir = cfg.results_dir / run_id
    cache = ArrayCache(cfg.cache_dir)
    device = resolve_device(cfg.run.device)
    source = make_source(cfg, device)
    seqs = suite.split("val")
    timings: dict[str, Any] = {"detections": {}, "tracking": {}}

    t0 = time.perf_counter()
    frames_of: dict[str, list[np.ndarray]] = {}
    hits = 0
    for seq in seqs:
        frames_of[seq.name], hit = load_detections(source, seq, cache)
        hits += hit
    timings["detections"] = {"seconds": time.perf_counter() - t0, "cache_hits": hits, "sequences": len(seqs)}

    features_of: dict[str, dict[str, list[np.ndarray]]] = {}  # tracker → sequence → per-frame embeddings
    reid_meta: dict[str, Any] = {}
    det_key = {"source": source.name, "params": source.params()}
    for name in (n for n in trackers if NEEDS_FEATURES[n]):
        t0 = time.perf_counter()
        ckpt = ensure_checkpoint(cfg, name, suite, cfg.run.seed, device)
        embedder, reid_meta[name] = load_checkpoint(ckpt, device, cfg.reid.embed_batch_size)
        t1, hits = time.perf_counter(), 0
        features_of[name] = {}
        for seq in seqs:
            features_of[name][seq.name], hit = load_embeddings(embedder, seq, frames_of[seq.name], det_key, cache)
            hits += hit
        timings.setdefault("reid", {})[name] = {
            "checkpoint_seconds": t1 - t0,
            "embedding_seconds": time.perf_counter() - t1,
            "cache_hits": hits,
            "crops": sum(len(d) for f in frames_of.values() for d in f),
        }

    jobs = [
        TrackJob(
            name,
            tracker_params(name, cfg.trackers),
            s.name,
            s.info.fps,
            frames_of[s.name],
            features_of[name][s.name] if NEEDS_FEATURES[name] else None,
            cfg.output.min_box_area,
            cfg.output.aspect_ratio_thresh,
        )
        for name in trackers
        for s in seqs
    ]
    with atomic_dir(run_dir) as tmp:
        progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        with progress:
            task = progress.add_task(f"tracking {len(seqs)} seqs × {len(trackers)} trackers", total=len(jobs))
            parallel = Parallel(n_jobs=min(cfg.run.jobs, max(len(jobs), 1)), return_as="generator_unordered")
            for job, rows, seconds in parallel(delayed(track_sequence)(j) for j in jobs):
                write_results(tmp / job.tracker / f"{job.seq}.txt", rows)
                timings["tracking"].setdefault(job.tracker, {})[job.seq] = {
                    "frames": len(job.frames),
                    "seconds": seconds,
                    "fps": len(job.frames) / max(seconds, 1e-9),
                }
                progress.advance(task)

        tables, checks = [], []
        for name in trackers:
            result = evaluate(
                tmp / name, suite.root, seqs=[s.name for s in seqs], benchmark=suite.benchmark, tracker_name=name
            )
            t = timings["tracking"][name]
            table = result.metrics.copy()
            fps = {s: v["fps"] for s, v in t.items()}
            fps["COMBINED"] = sum(v["frames"] for v in t.values()) / max(sum(v["seconds"] for v in t.values()), 1e-9)
            table["FPS"] = [fps.get(str(i), np.nan) for i in table.index]
            table.insert(0, "tracker", name)
            tables.append(table.reset_index())
            check = result.crosscheck.copy()
            check.insert(0, "tracker", name)
            checks.append(check.reset_index())
        metrics = pd.concat(tables, ignore_index=True)
        metrics.to_csv(tmp / "metrics.csv", index=False)
        pd.concat(checks, ignore_index=True).to_csv(tmp / "crosscheck.csv", index=False)
        timings["total_seconds"] = time.time() - started
        atomic_write_json(
            tmp / "manifest.json",
            {
                "run_id": run_id,
                "suite": {
                    "name": suite.name,
                    "root": str(suite.root),
                    "benchmark": suite.benchmark,
                    "sequences": [s.name for s in seqs],
                },
                "trackers": trackers,
                "config": cfg.to_dict(),
                "config_hash": cfg.hash(),
                "git_commit": git_commit(),
                "packages": package_versions(),
                "device": device,
                "seed": cfg.run.seed,
                "jobs": cfg.run.jobs,
                "detections": {"source": source.name, "params": source.params()},
                "reid": reid_meta,
                "timings": timings,
                "started": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(started)),
            },
        )
    return run_dir


def latest_run(results_dir: Path) -> Path | None:
    runs = [p for p in results_dir.iterdir() if (p / "manifest.json").is_file()] if results_dir.is_dir() else []
    return max(runs, key=lambda p: (p / "manifest.json").stat().st_mtime) if runs else None
