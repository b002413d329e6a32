"""The one list of trackers: each entry names its tracker class, its config class and its Re-ID model (if any).

`bench.core.config` builds the `[trackers.<name>]` and `[reid.<name>]` sections from these entries and the CLI checks
names against them, so adding a tracker is one file in `trackers/` plus one `register(...)` call. The tracker class
is named as "module:attribute" and imported when a tracker is built, so the list (and the config) loads without
numba or torch; config classes are plain dataclasses (`trackers.configs`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from trackers.base import Tracker
from trackers.configs import ByteTrackConfig, DeepSORTConfig, FineTrackConfig
from trackers.lazy_ref import load_ref


@dataclass(frozen=True)
class TrackerEntry:
    """`factory` ("module:attribute") is called as `factory(config, frame_rate=...)` to build one tracker for one
    sequence; `reid_model` is the Re-ID model its `reid.<name>` section trains (None: motion only, no Re-ID
    section, no features). The entry is what decides whether a tracker gets features."""

    name: str
    factory: str
    config_cls: type
    reid_model: str | None = None

    @property
    def needs_features(self) -> bool:
        return self.reid_model is not None

    def build(self, params: dict[str, Any], frame_rate: float) -> Tracker:
        return load_ref(self.factory)(self.config_cls(**params), frame_rate=frame_rate)


REGISTRY: dict[str, TrackerEntry] = {}


def register(entry: TrackerEntry) -> None:
    if entry.name in REGISTRY and REGISTRY[entry.name] != entry:
        raise ValueError(f"tracker {entry.name!r} is already registered")
    REGISTRY[entry.name] = entry


def unregister(name: str) -> None:
    REGISTRY.pop(name, None)


def appearance_trackers() -> list[str]:
    return [n for n, e in REGISTRY.items() if e.needs_features]


def tracker_params(name: str, cfg_trackers: Any) -> dict[str, Any]:
    """The config section of tracker `name` as a plain dict (what goes to worker processes and manifests)."""
    return dataclasses.asdict(getattr(cfg_trackers, name))


def make_tracker(name: str, params: dict[str, Any], frame_rate: float) -> Tracker:
    return REGISTRY[name].build(params, frame_rate)


register(TrackerEntry("bytetrack", "trackers.bytetrack:ByteTrack", ByteTrackConfig))
register(TrackerEntry("deepsort", "trackers.deepsort:DeepSORT", DeepSORTConfig, reid_model="global"))
register(TrackerEntry("finetrack", "trackers.finetrack:FineTrack", FineTrackConfig, reid_model="finetrack"))
