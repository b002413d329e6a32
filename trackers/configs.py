"""Tracker configs: what `[trackers.<name>]` holds, declared apart from the trackers so that loading the config
imports no numba kernels. Each field's range or choices (dataclass metadata) is checked by `bench.core.config`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from trackers.chi2 import CHI2INV95


@dataclass
class ByteTrackConfig:
    """Defaults are ByteTrack's tools/track.py arguments (what the reference outputs were made with)."""

    # detections above this are "high" (first stage)
    track_thresh: float = field(default=0.6, metadata={"range": "[0, 1]"})
    match_thresh: float = field(default=0.9, metadata={"range": "[0, 1]"})  # first-stage cost limit
    track_buffer: int = field(default=30, metadata={"range": "[0, inf)"})  # frames a lost track is kept (at 30 fps)
    mot20: bool = False  # True: plain IoU cost (no score fusion)
    # detections in (low_thresh, track_thresh) are "low" (second stage)
    low_thresh: float = field(default=0.1, metadata={"range": "[0, 1]"})
    second_match_thresh: float = field(default=0.5, metadata={"range": "[0, 1]"})  # second-stage cost limit (plain IoU)
    # cost limit for unconfirmed tracks vs leftover high detections
    unconfirmed_match_thresh: float = field(default=0.7, metadata={"range": "[0, 1]"})
    # a new track needs score >= track_thresh + offset
    new_track_thresh_offset: float = field(default=0.1, metadata={"range": "[0, 1]"})
    # tracked and lost tracks closer than this (1 - IoU) are duplicates
    duplicate_iou_dist: float = field(default=0.15, metadata={"range": "[0, 1]"})

    # `bench tune`'s search space: field -> search bounds (None: the field's declared range); see bench/commands/tune.py
    TUNABLE: ClassVar[dict[str, tuple[float, float] | None]] = {
        "track_thresh": None, "match_thresh": None, "second_match_thresh": None,
        "new_track_thresh_offset": (0.0, 0.3), "track_buffer": (5, 150),
    }


@dataclass
class DeepSORTConfig:
    """Defaults are the reference's (tracker.py, deep_sort_app.py), except `min_confidence`.

    `min_confidence` 0.3: DeepSORT has no second, low-score stage, so this one threshold decides which partly
    occluded detections it may use at all; n_init filters the false positives a low threshold lets in. 0.8, the
    value deep_sort_app uses, was tuned for the score scale of the POI Faster R-CNN MOT16 detections and would
    discard most boxes of other detectors (MOT15 public detections score 0.5-1.0); 0.3 is the widely used
    default of DeepSORT run on modern detectors (e.g. ZQPei/deep_sort_pytorch).
    """

    min_confidence: float = field(default=0.3, metadata={"range": "[0, 1]"})  # detections with score < this are dropped
    # cascade cost limit (matching_threshold)
    max_cosine_distance: float = field(default=0.2, metadata={"range": "[0, 2]"})
    # gallery size per track (last nn_budget features); None: unbounded
    nn_budget: int | None = field(default=100, metadata={"range": "[1, inf)"})
    max_iou_distance: float = field(default=0.7, metadata={"range": "[0, 1]"})  # IoU-stage cost limit on 1 - IoU
    # cascade depth; a confirmed track is deleted when time_since_update > max_age
    max_age: int = field(default=70, metadata={"range": "[1, inf)"})
    # consecutive hits for a tentative track to be confirmed
    n_init: int = field(default=3, metadata={"range": "[1, inf)"})
    # squared Mahalanobis gate on (x, y, a, h)
    gating_threshold: float = field(default=CHI2INV95[4], metadata={"range": "(0, inf)"})
    # reference NMS (intersection / area of the weaker box); 1.0: off
    nms_max_overlap: float = field(default=1.0, metadata={"range": "[0, 1]"})
    # detections shorter than this (pixels) are dropped
    min_detection_height: float = field(default=0.0, metadata={"range": "[0, inf)"})
    # 0: only tracks matched this frame; 1: as deep_sort_app
    output_max_time_since_update: int = field(default=0, metadata={"range": "[0, inf)"})

    TUNABLE: ClassVar[dict[str, tuple[float, float] | None]] = {
        "min_confidence": None, "max_cosine_distance": (0.05, 1.0), "max_iou_distance": None,
        "max_age": (10, 150), "n_init": (1, 6),
    }

    def __post_init__(self) -> None:
        if self.n_init < 1:
            raise ValueError(f"n_init must be >= 1, got {self.n_init}")
        if self.max_age < 1:
            raise ValueError(f"max_age must be >= 1, got {self.max_age}")
        if self.nn_budget is not None and self.nn_budget < 1:
            raise ValueError(f"nn_budget must be >= 1 or None, got {self.nn_budget}")
        if self.output_max_time_since_update < 0:
            raise ValueError(f"output_max_time_since_update must be >= 0, got {self.output_max_time_since_update}")


ASSOCIATIONS = ("fused", "iou", "feat")


@dataclass
class FineTrackConfig(ByteTrackConfig):
    # fused: sqrt(d̃_feat·d_IoU); iou: ByteTrack's own first stage; feat: d̃_feat alone
    association: str = field(default="fused", metadata={"choices": ASSOCIATIONS})
    # EMA: f ← m·f + (1 − m)·f_det, then re-normalised
    feature_momentum: float = field(default=0.9, metadata={"range": "[0, 1)"})

    TUNABLE: ClassVar[dict[str, tuple[float, float] | None]] = {**ByteTrackConfig.TUNABLE, "feature_momentum": None}

    def __post_init__(self) -> None:
        if self.association not in ASSOCIATIONS:
            raise ValueError(f"association must be one of {ASSOCIATIONS}, got {self.association!r}")
        if not 0.0 <= self.feature_momentum < 1.0:
            raise ValueError(f"feature_momentum must be in [0, 1), got {self.feature_momentum}")
