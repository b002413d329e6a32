"""Running one tracker over one sequence: the unit of work `bench run` and `bench track` hand to workers.

Kept apart from the runner so worker processes import only numpy and the trackers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.trackers_registry import make_tracker
from trackers.base import filter_output


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


def track_sequence(job: TrackJob) -> tuple[TrackJob, np.ndarray, float]:
    """Run one tracker over one sequence; returns result rows (frame, id, x, y, w, h, score) and tracker seconds."""
    tracker = make_tracker(job.tracker, job.params, job.frame_rate)
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
    return job, (np.concatenate(rows) if rows else np.zeros((0, 7))), seconds
