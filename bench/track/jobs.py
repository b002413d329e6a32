"""One tracker over one sequence: the unit of work `bench run` and `bench track` hand to workers.

A `TrackJob` holds everything the result depends on, so `track_sequence(job)` is a plain function of it that can be
shipped to another process or machine, and `job.key()` is a content key for caching its output. `track_job` is the
one place jobs are made; `track_det_files` is `bench track` (det files in, result files out). Kept apart from the
runner so worker processes import only numpy and the trackers.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bench.core.errors import BenchError
from bench.core.fsutil import stable_hash
from bench.data.mot_io import read_detections, read_seqinfo, split_active_frames, write_results
from bench.detect.scores import off_scale_warning, rescaled
from bench.core.trackers_registry import REGISTRY, TrackerEntry, tracker_params
from trackers.base import filter_output

if TYPE_CHECKING:
    import pandas as pd

    from bench.core.config import Config


def arrays_digest(arrays: list[np.ndarray] | None) -> str:
    """Content hash of per-frame arrays (shape, dtype and bytes of each, in order)."""
    if arrays is None:
        return "none"
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


@dataclass(frozen=True, kw_only=True)
class TrackJob:
    entry: TrackerEntry  # travels with the job, so trackers registered at runtime work in workers
    params: dict[str, Any]
    seq: str
    frame_rate: float
    frames: list[np.ndarray]
    features: list[np.ndarray] | None  # per frame; None for a tracker whose entry needs none
    min_box_area: float
    aspect_ratio_thresh: float

    @property
    def tracker(self) -> str:
        return self.entry.name

    def key(self) -> str:
        """Content key: tracker, its parameters, the sequence, its detections and features, the output filter."""
        return stable_hash(
            {
                "tracker": self.tracker,
                "params": self.params,
                "seq": self.seq,
                "frame_rate": self.frame_rate,
                "frames": arrays_digest(self.frames),
                "features": arrays_digest(self.features),
                "filter": [self.min_box_area, self.aspect_ratio_thresh],
            }
        )


@dataclass(frozen=True)
class TrackOutput:
    tracker: str
    seq: str
    rows: np.ndarray  # (N, 7) frame, id, x, y, w, h, score
    frames: int
    seconds: float  # tracker time only (for a cached result: the time measured when it was computed)
    cached: bool = False  # read from the tracks cache, not computed in this run

    @property
    def fps(self) -> float:
        return self.frames / max(self.seconds, 1e-9)

    def to_frame(self) -> pd.DataFrame:
        """The cache's form: the result rows, with frames and tracker seconds kept in the frame's attrs."""
        import pandas as pd  # here, not at the top: a worker and `bench track` never build one

        df = pd.DataFrame(self.rows, columns=ROW_COLUMNS)
        df.attrs.update({"frames": self.frames, "seconds": self.seconds})
        return df

    @classmethod
    def from_frame(cls, job: TrackJob, df: pd.DataFrame, cached: bool) -> TrackOutput:
        rows = df[ROW_COLUMNS].to_numpy(dtype=np.float64).reshape(-1, 7)
        return cls(job.tracker, job.seq, rows, int(df.attrs["frames"]), float(df.attrs["seconds"]), cached)


ROW_COLUMNS = ["frame", "id", "x", "y", "w", "h", "score"]


def track_job(cfg: Config, tracker: str, seq: str, frame_rate: float, frames: list[np.ndarray],
              features: list[np.ndarray] | None = None) -> TrackJob:
    """The job for `tracker` on one sequence under `cfg`: its config section, the output filter, and the features
    only when its registry entry asks for them."""
    entry = REGISTRY[tracker]
    if entry.needs_features and features is None:
        raise ValueError(f"{tracker} needs Re-ID features but none were given")
    return TrackJob(
        entry=entry,
        params=tracker_params(tracker, cfg.trackers),
        seq=seq,
        frame_rate=frame_rate,
        frames=frames,
        features=features if entry.needs_features else None,
        min_box_area=cfg.output.min_box_area,
        aspect_ratio_thresh=cfg.output.aspect_ratio_thresh,
    )


def track_sequence(job: TrackJob) -> TrackOutput:
    """Run one tracker over one sequence; returns result rows and tracker seconds."""
    tracker = job.entry.build(job.params, job.frame_rate)
    use_features = job.entry.needs_features
    if use_features and job.features is None:
        raise ValueError(f"{job.tracker} needs Re-ID features but the job has none")
    rows = []
    seconds = 0.0
    for frame, dets in enumerate(job.frames, start=1):
        t0 = time.perf_counter()
        feats = job.features[frame - 1] if use_features else None
        out = tracker.update(dets, feats)
        seconds += time.perf_counter() - t0
        out = filter_output(out, job.min_box_area, job.aspect_ratio_thresh)
        if len(out):
            r = np.empty((len(out), 7))
            r[:, 0] = frame
            r[:, 1] = out[:, 4]
            r[:, 2:6] = out[:, 0:4]
            r[:, 6] = out[:, 5]
            rows.append(r)
    return TrackOutput(job.tracker, job.seq, np.concatenate(rows) if rows else np.zeros((0, 7)), len(job.frames), seconds)


@dataclass(frozen=True)
class TrackedFile:
    """What `bench track` reports per sequence."""

    seq: str
    length: int  # frames in the sequence
    tracks: int
    fps: float  # tracker frames/s over the frames it stepped
    path: Path


def _check_det_files(tracker: str, det_files: list[Path], out: Path) -> None:
    """Every user error before any work: the tracker, the output folder, one det file per sequence."""
    if tracker not in REGISTRY:
        raise BenchError(f"unknown tracker {tracker!r}", hint=f"known: {', '.join(REGISTRY)}")
    if REGISTRY[tracker].needs_features:
        raise BenchError(
            f"{tracker} needs images for Re-ID features; `bench track` takes det files only",
            hint="use `bench run --suite DIR --trackers ...` on a MOTChallenge-layout folder",
        )
    existing = next(p for p in (out, *out.parents) if p.exists())
    if not existing.is_dir():
        raise BenchError("--out is a file, not a folder" if existing == out else f"--out {out} lies under a file",
                         existing, hint="pass a folder for the <SEQ>.txt results")
    seen: dict[str, Path] = {}
    for det_file in det_files:
        name = det_file.resolve().parent.parent.name
        if name in seen:
            raise BenchError(
                f"sequence {name!r} is given twice (also {seen[name]})", det_file,
                hint="each result is <SEQ>.txt, named after the folder above det/: pass one det file per sequence",
            )
        seen[name] = det_file


def track_det_files(cfg: Config, tracker: str, det_files: list[Path], out: Path,
                    warn: Callable[[str], None] | None = None) -> Iterator[TrackedFile]:
    """Run a motion-only tracker over MOTChallenge det files (sequence = the folder above det/) and write
    `out/<SEQ>.txt` for each, yielding a summary as each is written."""
    _check_det_files(tracker, det_files, out)
    params = tracker_params(tracker, cfg.trackers)
    for det_file in det_files:
        seq_dir = det_file.resolve().parent.parent
        dets = rescaled(read_detections(det_file), cfg.detections.score_scale)  # frames checked against seqinfo.ini
        if warn is not None and len(dets) and dets[:, 5].max() > 1.0:
            warn(off_scale_warning({str(det_file): (float(dets[:, 5].min()), float(dets[:, 5].max()))},
                                   cfg.detections.score_scale) or "")
        length, fps = (int(dets[:, 0].max()) if len(dets) else 0), 30.0
        if (seq_dir / "seqinfo.ini").is_file():
            info = read_seqinfo(seq_dir)
            length, fps = info.length, info.fps
        # Empty stretches longer than the tracker's track lifetime are skipped (no track survives them), so memory
        # and time follow the rows, not the largest frame number; trackers without a known lifetime step every frame.
        lifetime = getattr(REGISTRY[tracker].build(params, fps), "max_time_lost", None)
        frames, frame_of_step = split_active_frames(dets, length, length if lifetime is None else lifetime + 2)
        result = track_sequence(track_job(cfg, tracker, seq_dir.name, fps, frames))
        rows = result.rows
        if len(rows):
            rows[:, 0] = frame_of_step[rows[:, 0].astype(np.int64) - 1]
        path = out / f"{seq_dir.name}.txt"
        write_results(path, rows)
        tracks = len(np.unique(rows[:, 1])) if len(rows) else 0
        yield TrackedFile(seq_dir.name, length, tracks, len(frames) / max(result.seconds, 1e-9), path)
