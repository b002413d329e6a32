"""One association pass as a small declarative object: a cost function plus a threshold.

ByteTrack is three such stages (high-score detections, low-score detections, unconfirmed tracks); variants
swap a stage's cost (e.g. FineTrack's appearance-weighted first stage) without touching the tracker loop.
Costs are tracks × detections; assignment is `matching.linear_assignment` (lapjv with a cost limit).
A stage cost reads the tracks, the detections and their motion distance 1 - IoU, which the tracker computes
once per frame for all its stages (`motion_distance`) and hands to each stage as the block it needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Callable, Protocol, Sequence

import numpy as np

from trackers.kalman import tlbr_to_tlwh, tlwh_to_tlbr
from trackers.matching import fuse_score, iou_distance, linear_assignment
from trackers.track import tracks_tlbr


class KalmanTrackLike(Protocol):
    """What stage cost functions may read from a track: its Kalman mean (cx, cy, a, h, velocities) and feature."""

    mean: np.ndarray
    feature: np.ndarray | None


@dataclass
class FrameDetections:
    """One frame's detections as arrays (row i is detection i), with the box formats the trackers need.

    `tlbr` is recomputed from `tlwh` (x1 + (x2 - x1)), as the reference does through its STrack objects, so
    IoUs agree with it to the last bit.
    """

    tlwh: np.ndarray  # (N, 4) left, top, w, h
    scores: np.ndarray  # (N,)
    features: np.ndarray | None = None  # (N, D) or None

    @classmethod
    def from_tlbr(cls, tlbr: np.ndarray, scores: np.ndarray, features: np.ndarray | None = None) -> "FrameDetections":
        return cls(tlbr_to_tlwh(np.asarray(tlbr, dtype=np.float64).reshape(-1, 4)),
                   np.asarray(scores, dtype=np.float64).reshape(-1), features)

    def __len__(self) -> int:
        return len(self.scores)

    @cached_property
    def tlbr(self) -> np.ndarray:
        return tlwh_to_tlbr(self.tlwh)

    @cached_property
    def xyah(self) -> np.ndarray:
        """(N, 4) center x, center y, w/h, h: the Kalman measurement (the float operations of `tlwh_to_xyah`)."""
        box = self.tlwh.T.copy()
        box[:2] += box[2:] / 2
        box[2] /= box[3]
        return box.T

    def subset(self, idx: np.ndarray | Sequence[int] | slice) -> "FrameDetections":
        if not isinstance(idx, slice):
            idx = np.asarray(idx, dtype=np.int64)
        feats = None if self.features is None else self.features[idx]
        return FrameDetections(self.tlwh[idx], self.scores[idx], feats)

    def feature(self, i: int) -> np.ndarray | None:
        return None if self.features is None else self.features[i]


def motion_distance(tracks: Sequence[KalmanTrackLike], dets: FrameDetections) -> np.ndarray:
    """1 - IoU (+1 convention) between the tracks' Kalman boxes and the detections, tracks × detections."""
    return iou_distance(tracks_tlbr(tracks), dets.tlbr)


def iou_cost(tracks: Sequence[KalmanTrackLike], dets: FrameDetections, iou_dist: np.ndarray) -> np.ndarray:
    """Plain 1 - IoU."""
    return iou_dist


def score_fused_iou_cost(tracks: Sequence[KalmanTrackLike], dets: FrameDetections, iou_dist: np.ndarray) -> np.ndarray:
    """ByteTrack's default (non-MOT20) cost: 1 - IoU * detection score."""
    return fuse_score(iou_dist, dets.scores)


# (tracks, detections, their 1 - IoU) → tracks × detections cost
CostFn = Callable[[Sequence[KalmanTrackLike], FrameDetections, np.ndarray], np.ndarray]

_NO_MATCHES = np.empty((0, 2), dtype=np.int64)


@dataclass
class AssociationStage:
    """Match tracks to detections with `cost` (tracks × detections) and lapjv's cost limit `thresh`."""

    cost: CostFn
    thresh: float
    name: str = ""

    def match(
        self, tracks: Sequence[KalmanTrackLike], dets: FrameDetections, iou_dist: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """→ (matches (K, 2) [track index, det index], unmatched track indices, unmatched det indices).

        `iou_dist` is `motion_distance(tracks, dets)` (or the same block of a larger one).
        """
        if len(tracks) == 0 or len(dets) == 0:
            return _NO_MATCHES, np.arange(len(tracks)), np.arange(len(dets))
        return linear_assignment(self.cost(tracks, dets, iou_dist), self.thresh)
