"""The one list of trackers: each entry names its tracker class, its config class and its Re-ID model (if any).

`bench.config` builds the `[trackers.<name>]` and `[reid.<name>]` sections from these entries and the CLI checks
names against them, so adding a tracker is one file in `trackers/` plus one `register(...)` call.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from trackers.base import Tracker
from trackers.bytetrack import ByteTrack, ByteTrackConfig
from trackers.deepsort import DeepSORT, DeepSORTConfig
from trackers.finetrack import FineTrack, FineTrackConfig


@dataclass(frozen=True)
class TrackerEntry:
    """`factory(config, frame_rate=...)` builds one tracker for one sequence; `reid_model` is the Re-ID model its
    `reid.<name>` section trains (None: motion only, no Re-ID section, no features)."""

    name: str
    factory: Callable[..., Tracker]
    config_cls: type
    reid_model: str | None = None

    @property
    def needs_features(self) -> bool:
        return self.reid_model is not None

    def build(self, params: dict[str, Any], frame_rate: float) -> Tracker:
        return self.factory(self.config_cls(**params), frame_rate=frame_rate)


REGISTRY: dict[str, TrackerEntry] = {}
_listeners: list[Callable[[], None]] = []  # bench.config rebuilds its tracker sections on every change


def register(entry: TrackerEntry) -> None:
    if entry.name in REGISTRY and REGISTRY[entry.name] != entry:
        raise ValueError(f"tracker {entry.name!r} is already registered")
    REGISTRY[entry.name] = entry
    for notify in _listeners:
        notify()


def unregister(name: str) -> None:
    REGISTRY.pop(name, None)
    for notify in _listeners:
        notify()


def on_change(listener: Callable[[], None]) -> None:
    _listeners.append(listener)


def entry(name: str) -> TrackerEntry:
    return REGISTRY[name]


def appearance_trackers() -> list[str]:
    return [n for n, e in REGISTRY.items() if e.needs_features]


def tracker_params(name: str, cfg_trackers: Any) -> dict[str, Any]:
    """The config section of tracker `name` as a plain dict (what goes to worker processes and manifests)."""
    return dataclasses.asdict(getattr(cfg_trackers, name))


def make_tracker(name: str, params: dict[str, Any], frame_rate: float) -> Tracker:
    return REGISTRY[name].build(params, frame_rate)


register(TrackerEntry("bytetrack", ByteTrack, ByteTrackConfig))
register(TrackerEntry("deepsort", DeepSORT, DeepSORTConfig, reid_model="global"))
register(TrackerEntry("finetrack", FineTrack, FineTrackConfig, reid_model="finetrack"))
