"""FineTrack's association (Ren et al., CVPR 2023): ByteTrack's stages with an appearance-weighted first stage.

The first (high-score) stage uses d = sqrt(d̃_feat · d_IoU) with d_feat = 1 − cos(track feature, detection
feature), d_IoU = 1 − IoU and d̃_feat = 1 − (1 − d_feat)·[d_IoU < 1]: appearance counts only between boxes that
overlap, and a pair that does not overlap costs 1. The low-score stage stays IoU-only (low-score boxes are
occluded or blurred, their features unreliable). Track features are an exponential moving average of the features
of confident (high-score) matches. Everything else is ByteTrack's code, not a copy of it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from trackers.association import CostFn, FrameDetections, KalmanTrackLike
from trackers.bytetrack import ByteTrack, Track
from trackers.configs import FineTrackConfig
from trackers.matching import cosine_distance

def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def feature_distance(tracks: Sequence[KalmanTrackLike], dets: FrameDetections) -> np.ndarray:
    """d_feat = 1 − cosine similarity, tracks × detections."""
    if dets.features is None or any(t.feature is None for t in tracks):
        raise ValueError("FineTrack's first stage needs features on every track and detection")
    return cosine_distance(np.stack([t.feature for t in tracks]), dets.features)


def _gated(d_feat: np.ndarray, d_iou: np.ndarray) -> np.ndarray:
    """d̃_feat = 1 − (1 − d_feat)·[d_IoU < 1]: appearance only where the boxes overlap, else 1."""
    return 1.0 - (1.0 - d_feat) * (d_iou < 1.0)


def gated_feature_cost(tracks: Sequence[KalmanTrackLike], dets: FrameDetections, d_iou: np.ndarray) -> np.ndarray:
    """d̃_feat alone (association = "feat"); `d_iou` is the tracks' and detections' 1 - IoU."""
    return _gated(feature_distance(tracks, dets), d_iou)


def fused_cost(tracks: Sequence[KalmanTrackLike], dets: FrameDetections, d_iou: np.ndarray) -> np.ndarray:
    """d = sqrt(d̃_feat · d_IoU); `d_iou` is the tracks' and detections' 1 - IoU."""
    return np.sqrt(np.clip(_gated(feature_distance(tracks, dets), d_iou), 0.0, None) * d_iou)


FIRST_STAGE_COSTS: dict[str, CostFn | None] = {"fused": fused_cost, "iou": None, "feat": gated_feature_cost}


class FineTrack(ByteTrack):
    """ByteTrack whose first stage is chosen by `config.association`; features are required."""


    def __init__(self, config: FineTrackConfig | None = None, frame_rate: float = 30) -> None:
        config = config if config is not None else FineTrackConfig()
        super().__init__(config, frame_rate, first_stage_cost=FIRST_STAGE_COSTS[config.association])

    def _absorb_feature(self, track: Track, feature: np.ndarray | None) -> None:
        """EMA of unit features, updated only on confident matches (score above track_thresh)."""
        if feature is None:
            return
        f = _unit(np.asarray(feature, dtype=np.float64))
        if track.feature is None:
            track.feature = f
        elif track.score > self.config.track_thresh:
            m = self.config.feature_momentum
            track.feature = _unit(m * track.feature + (1.0 - m) * f)

    def update(self, dets: np.ndarray, features: np.ndarray | None = None) -> np.ndarray:
        dets = np.asarray(dets, dtype=np.float64).reshape(-1, 5)
        if features is None or len(features) != len(dets) or (len(dets) and np.ndim(features) != 2):
            raise ValueError("FineTrack needs one feature row per detection; it never runs without appearance")
        return super().update(dets, features)
