"""Trackers that exist only for the tests: adding one is a tracker class plus one registry entry.

Importable by worker processes (the registry entry travels with each job and names these classes).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from bench.core.trackers_registry import TrackerEntry, register, unregister


@dataclass
class IoUConfig:
    iou_thresh: float = 0.3
    min_score: float = 0.1
    delay: float = 0.0  # seconds slept per frame (the slow variant, for interrupt tests)


class IoUTracker:
    """Plain IoU tracker: each detection joins the last-frame track it overlaps most (Hungarian), else starts one."""

    def __init__(self, config: IoUConfig | None = None, frame_rate: float = 30) -> None:
        self.cfg = config or IoUConfig()
        self.boxes = np.zeros((0, 4))
        self.ids = np.zeros(0, dtype=int)
        self.next_id = 1

    def update(self, dets: np.ndarray, features: np.ndarray | None = None) -> np.ndarray:
        if self.cfg.delay:
            time.sleep(self.cfg.delay)
        dets = dets[dets[:, 4] >= self.cfg.min_score]
        ids = np.zeros(len(dets), dtype=int)
        if len(dets) and len(self.boxes):
            a, b = self.boxes[:, None, :], dets[None, :, :4]
            iw = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
            ih = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
            inter = iw * ih
            area = lambda x: (x[..., 2] - x[..., 0]) * (x[..., 3] - x[..., 1])  # noqa: E731
            iou = inter / (area(a) + area(b) - inter)
            for r, c in zip(*linear_sum_assignment(-iou)):
                if iou[r, c] >= self.cfg.iou_thresh:
                    ids[c] = self.ids[r]
        for i in np.flatnonzero(ids == 0):
            ids[i] = self.next_id
            self.next_id += 1
        self.boxes, self.ids = dets[:, :4].copy(), ids
        out = np.empty((len(dets), 6))
        out[:, 0:2] = dets[:, 0:2]
        out[:, 2:4] = dets[:, 2:4] - dets[:, 0:2]
        out[:, 4] = ids
        out[:, 5] = dets[:, 4]
        return out


IOU = TrackerEntry("iou", f"{__name__}:IoUTracker", IoUConfig)


def register_all() -> None:
    register(IOU)


def unregister_all() -> None:
    unregister(IOU.name)


# the same tracker; set trackers.slowiou.delay to slow it
SLOW = TrackerEntry("slowiou", f"{__name__}:IoUTracker", IoUConfig)


def register_slow() -> None:
    register(SLOW)
