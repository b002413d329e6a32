"""Build trackers by name from the config: the one place that knows which tracker class goes with which section."""

from __future__ import annotations

import dataclasses
from typing import Any

from trackers.base import Tracker
from trackers.bytetrack import ByteTrack, ByteTrackConfig
from trackers.deepsort import DeepSORT, DeepSORTConfig
from trackers.finetrack import FineTrack, FineTrackConfig

REGISTRY: dict[str, tuple[type, type]] = {
    "bytetrack": (ByteTrack, ByteTrackConfig),
    "deepsort": (DeepSORT, DeepSORTConfig),
    "finetrack": (FineTrack, FineTrackConfig),
}
TRACKERS = tuple(REGISTRY)
NEEDS_FEATURES = {name: cls.needs_features for name, (cls, _) in REGISTRY.items()}


def tracker_params(name: str, cfg_trackers: Any) -> dict[str, Any]:
    """The config section of tracker `name` as a plain dict (what goes to worker processes and manifests)."""
    return dataclasses.asdict(getattr(cfg_trackers, name))


def make_tracker(name: str, params: dict[str, Any], frame_rate: float) -> Tracker:
    cls, config_cls = REGISTRY[name]
    return cls(config_cls(**params), frame_rate=frame_rate)
