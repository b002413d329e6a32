"""What every tracker in `trackers/` looks like to the harness.

Trackers are pure computation: per frame, detections (and optionally their appearance features) in, tracks
out. No file I/O, no global state: track ids are numbered per tracker instance so parallel runs reproduce.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Tracker(Protocol):
    """One instance tracks one sequence.

    `update(dets, features)`:
      dets: (N, 5) float array x1, y1, x2, y2, score for this frame (N may be 0).
      features: (N, D) float32 appearance embeddings row-aligned with `dets`, or None for motion-only trackers.
      returns: (M, 6) float array x, y, w, h (left, top, width, height, as MOTChallenge results are written),
        track_id, score of the tracks reported for this frame.
    Whether a tracker gets features is said once, by its registry entry (`bench.core.trackers_registry`).
    """

    def update(self, dets: np.ndarray, features: np.ndarray | None = None) -> np.ndarray: ...


def filter_output(tracks: np.ndarray, min_box_area: float, aspect_ratio_thresh: float) -> np.ndarray:
    """ByteTrack's MOT output filter (tools/track.py): keep a box if w*h > min_box_area and not w/h > thresh.

    `tracks` are rows as returned by `update()`: x, y, w, h, id, score.
    """
    w, h = tracks[:, 2], tracks[:, 3]
    keep = (w * h > min_box_area) & ~(w / np.maximum(h, 1e-12) > aspect_ratio_thresh)
    return tracks[keep]
