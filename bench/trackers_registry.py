"""Build trackers by name from the config: the one place that knows which tracker class goes with which section."""

from __future__ import annotations

import dataclasses
from typing import Any

from trackers.base import Tracker
from trackers.bytetrack import ByteTrack, ByteTrackConfig

TRACKERS = ("bytetrack",)
NEEDS_FEATURES = {"bytetrack": ByteTrack.needs_features}


def tracker_params(name: str, cfg_trackers: Any) -> dict[str, Any]:
    """The config section of tracker `name` as a plain dict (what goes to worker processes and manifests)."""
    return dataclasses.asdict(getattr(cfg_trackers, name))


def make_tracker(name: str, params: dict[str, Any], frame_rate: float) -> Tracker:
    if name == "bytetrack":
        return ByteTrack(ByteTrackConfig(**params), frame_rate=int(round(frame_rate)))
    raise ValueError(f"unknown tracker {name!r}")  # config validation rejects unknown names before this
