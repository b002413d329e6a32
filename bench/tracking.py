"""One tracker over one sequence: the unit of work `bench run` and `bench track` hand to workers.

A `TrackJob` holds everything the result depends on, so `track_sequence(job)` is a plain function of it that can be
shipped to another process or machine, and `job.key()` is a content key for caching its output. Kept apart from
the runner so worker processes import only numpy and the trackers.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bench.fsutil import stable_hash
from bench.trackers_registry import REGISTRY, TrackerEntry
from trackers.base import filter_output


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


@dataclass(frozen=True)
class TrackJob:
    tracker: str
    params: dict[str, Any]
    seq: str
    frame_rate: float
    frames: list[np.ndarray]
    features: list[np.ndarray] | None
    min_box_area: float
    aspect_ratio_thresh: float
    entry: TrackerEntry | None = None  # travels with the job, so trackers registered at runtime work in workers

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
        df = pd.DataFrame(self.rows, columns=ROW_COLUMNS)
        df.attrs.update({"frames": self.frames, "seconds": self.seconds})
        return df

    @classmethod
    def from_frame(cls, job: TrackJob, df: pd.DataFrame, cached: bool) -> TrackOutput:
        rows = df[ROW_COLUMNS].to_numpy(dtype=np.float64).reshape(-1, 7)
        return cls(job.tracker, job.seq, rows, int(df.attrs["frames"]), float(df.attrs["seconds"]), cached)


ROW_COLUMNS = ["frame", "id", "x", "y", "w", "h", "score"]


def track_sequence(job: TrackJob) -> TrackOutput:
    """Run one tracker over one sequence; returns result rows and tracker seconds."""
    tracker = (job.entry or REGISTRY[job.tracker]).build(job.params, job.frame_rate)
    if tracker.needs_features and job.features is None:
        raise ValueError(f"{job.tracker} needs Re-ID features but the job has none")
    rows = []
    seconds = 0.0
    for frame, dets in enumerate(job.frames, start=1):
        t0 = time.perf_counter()
        feats = job.features[frame - 1] if tracker.needs_features else None
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
