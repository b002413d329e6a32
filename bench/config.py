"""Typed configuration loaded from `bench.toml`, with CLI overrides.

Every section is a dataclass; unknown keys and values of the wrong type are rejected with one error naming the
key (e.g. `trackers.bytetrack.track_tresh`), so a typo never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import trackers_registry
from bench.errors import BenchError
from bench.fsutil import stable_hash
from bench.synth.params import SynthParams
from trackers.reid.models import ModelConfig
from trackers.reid.train import TrainConfig

DEVICES = ("auto", "cpu", "cuda")
DETECTORS = ("FRCNN", "DPM", "SDP")


@dataclass
class PathsConfig:
    """Where caches, results and the user's datasets live (relative paths are relative to bench.toml)."""

    cache: str = ".cache/bench"
    results: str = "results"
    mot17: str = ""  # MOT17 root (containing train/); env BENCH_MOT17 overrides when set


@dataclass
class RunConfig:
    suite: str = "synth"
    trackers: list[str] = field(default_factory=lambda: ["bytetrack"])
    detections: str = "public"
    device: str = "auto"
    seed: int = 0
    jobs: int = 2


@dataclass
class DetectionsConfig:
    """Detection source settings; `yolox` keys are checked by `bench.yolox_source` (exp, checkpoint, input_size,
    conf_thresh, nms_thresh, fp16, batch_size, num_classes, class_index, legacy_normalise, fuse)."""

    yolox: dict[str, Any] = field(default_factory=dict)


@dataclass
class Mot17Config:
    """MOT17 half split (ByteTrack's convention): val = second half of each training sequence."""

    detector: str = "FRCNN"


@dataclass
class OutputFilterConfig:
    """ByteTrack's MOT output filter (tools/track.py), applied to every tracker alike before writing results."""

    min_box_area: float = 100.0
    aspect_ratio_thresh: float = 1.6


@dataclass
class ReIDModelSection:
    """One appearance tracker's Re-ID model: trained on the suite's train split (once, then cached) unless
    `checkpoint` names a `.pt` written by `bench train`."""

    checkpoint: str = ""
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


def _finetrack_section() -> ReIDModelSection:
    return ReIDModelSection(
        model=ModelConfig(name="finetrack", extra={"fafpn": True, "parts": "mpmg", "k": 6}),
        train=TrainConfig(sampler="sgs"),
    )


REID_DEFAULTS = {"finetrack": _finetrack_section}  # Re-ID model name → its default section (else the plain one)


def _reid_section_factory(model: str):
    return REID_DEFAULTS.get(model) or (lambda: ReIDModelSection(model=ModelConfig(name=model)))


@dataclass
class ReIDSectionBase:
    """Re-ID models per appearance tracker (DeepSORT: the global baseline; FineTrack: FAFPN + MPMG)."""

    embed_batch_size: int = 128
    eval_min_frame_gap: int = 25  # retrieval eval: same-identity gallery crops closer than this are left out
    eval_query_stride: int = 10  # retrieval eval: every n-th frame's crops are queries

    def section(self, tracker: str) -> ReIDModelSection:
        return getattr(self, tracker)


def _build_sections() -> None:
    """`[trackers.<name>]` (the tracker's own config class) and `[reid.<name>]` (appearance trackers only), one
    field per registry entry; rebuilt when a tracker is registered."""
    global TrackersConfig, ReIDSection
    entries = trackers_registry.REGISTRY.values()
    TrackersConfig = dataclasses.make_dataclass(
        "TrackersConfig", [(e.name, e.config_cls, field(default_factory=e.config_cls)) for e in entries]
    )
    ReIDSection = dataclasses.make_dataclass(
        "ReIDSection",
        [
            (e.name, ReIDModelSection, field(default_factory=_reid_section_factory(e.reid_model)))
            for e in entries
            if e.reid_model
        ],
        bases=(ReIDSectionBase,),
    )


TrackersConfig: type
ReIDSection: type
_build_sections()
trackers_registry.on_change(_build_sections)


@dataclass
class Config:
    paths: PathsConfig = field(default_factory=PathsConfig)
    run: RunConfig = field(default_factory=RunConfig)
    synth: SynthParams = field(default_factory=SynthParams)
    mot17: Mot17Config = field(default_factory=Mot17Config)
    detections: DetectionsConfig = field(default_factory=DetectionsConfig)
    output: OutputFilterConfig = field(default_factory=OutputFilterConfig)
    trackers: TrackersConfig = field(default_factory=lambda: TrackersConfig())
    reid: ReIDSection = field(default_factory=lambda: ReIDSection())
    base_dir: Path = field(default=Path("."), metadata={"internal": True})

    def to_dict(self) -> dict[str, Any]:
        d = _asdict(self)
        d.pop("base_dir", None)
        return d

    def hash(self) -> str:
        return stable_hash(self.to_dict())

    def resolve(self, p: str) -> Path:
        path = Path(p).expanduser()
        return path if path.is_absolute() else (self.base_dir / path)

    @property
    def cache_dir(self) -> Path:
        return self.resolve(self.paths.cache)

    @property
    def results_dir(self) -> Path:
        return self.resolve(self.paths.results)

    @property
    def mot17_root(self) -> Path | None:
        p = os.environ.get("BENCH_MOT17") or self.paths.mot17
        return self.resolve(p) if p else None

    def validate(self, source: str = "config") -> None:
        if self.run.device not in DEVICES:
            raise BenchError(f"run.device must be one of {', '.join(DEVICES)}, got {self.run.device!r}", source)
        if self.run.jobs < 1:
            raise BenchError(f"run.jobs must be >= 1, got {self.run.jobs}", source)
        if self.mot17.detector not in DETECTORS:
            raise BenchError(
                f"mot17.detector must be one of {', '.join(DETECTORS)}, got {self.mot17.detector!r}", source
            )
        known = trackers_registry.REGISTRY
        for name in self.run.trackers:
            if name not in known:
                raise BenchError(
                    f"run.trackers: unknown tracker {name!r}", source, hint=f"known: {', '.join(sorted(known))}"
                )
        if self.run.detections not in ("public", "yolox"):
            raise BenchError(
                f"run.detections: unknown detection source {self.run.detections!r}", source, hint="known: public, yolox"
            )


def _asdict(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        return {f.name: _asdict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [_asdict(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    return obj


def _check_type(value: Any, tp: Any, key: str, source: str) -> Any:
    """Return `value` converted to `tp` where that is lossless (int → float), else raise naming `key`."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            try:
                return _check_type(value, arg, key, source)
            except BenchError:
                continue
        raise BenchError(f"{key}: expected {tp}, got {value!r}", source)
    if tp is type(None):
        if value is None:
            return None
    elif origin in (list, tuple):
        if isinstance(value, list):
            (arg, *_) = typing.get_args(tp) or (Any,)
            items = [_check_type(v, arg, f"{key}[{i}]", source) for i, v in enumerate(value)]
            return items if origin is list else tuple(items)
    elif tp is Any:
        return value
    elif origin is dict:
        if isinstance(value, dict):
            return dict(value)  # merged into the existing dict by _build
    elif tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    elif dataclasses.is_dataclass(tp):
        if isinstance(value, dict):
            return _build(tp, value, key, source)
    else:
        raise TypeError(f"unsupported config type {tp} for {key}")
    name = getattr(tp, "__name__", str(tp))
    raise BenchError(f"{key}: expected {name}, got {value!r}", source)


def _build(cls: type, data: dict[str, Any], prefix: str, source: str, base: Any = None) -> Any:
    """Build dataclass `cls` from `data`, starting from `base` (or the defaults); unknown keys are errors."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    obj = base if base is not None else cls()
    values = {}
    for k, v in data.items():
        key = f"{prefix}.{k}" if prefix else k
        if k not in fields:
            raise BenchError(f"unknown key {key!r}", source, hint=f"known keys: {', '.join(fields)}")
        tp = hints[k]
        if dataclasses.is_dataclass(tp) and isinstance(v, dict):
            values[k] = _build(tp, v, key, source, base=getattr(obj, k))
        elif typing.get_origin(tp) is dict and isinstance(v, dict):
            values[k] = {**getattr(obj, k), **v}  # overrides merge into free-form dicts (e.g. model.extra)
        else:
            values[k] = _check_type(v, tp, key, source)
    try:
        return dataclasses.replace(obj, **values)
    except ValueError as e:  # a dataclass's own validation (__post_init__)
        raise BenchError(f"{prefix or 'config'}: {e}", source) from None


def _parse_override(item: str) -> tuple[str, Any]:
    """`a.b.c=value` → ('a.b.c', value) with value parsed as a TOML value, or as a string if it isn't one."""
    if "=" not in item:
        raise BenchError(f"bad override {item!r}", hint="use KEY=VALUE, e.g. --set trackers.bytetrack.track_thresh=0.5")
    key, raw = item.split("=", 1)
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key.strip(), value


def apply_mapping(cfg: Config, mapping: dict[str, Any], source: str) -> Config:
    """Apply {"a.b.c": value} overrides (ablation variants, --set) with the same key and type rules as the file."""
    for dotted, value in mapping.items():
        nested: Any = value
        for k in reversed(dotted.split(".")):
            nested = {k: nested}
        cfg = _build(Config, nested, "", source, base=cfg)
    cfg.validate(source)
    return cfg


def apply_overrides(cfg: Config, overrides: list[str]) -> Config:
    """Apply `--set a.b=value` overrides (same key rules as the file)."""
    return apply_mapping(cfg, dict(_parse_override(item) for item in overrides), "--set")


def find_config(explicit: str | Path | None = None) -> Path | None:
    """The config file: an explicit path, $BENCH_CONFIG, or bench.toml in the working directory."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("BENCH_CONFIG")
    if env:
        return Path(env)
    here = Path("bench.toml")
    return here if here.is_file() else None


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """Load bench.toml (defaults when there is none) and apply overrides."""
    cfg_path = find_config(path)
    if cfg_path is None:
        cfg = Config(base_dir=Path.cwd())
    else:
        if not cfg_path.is_file():
            raise BenchError("config file not found", cfg_path, hint="pass --config PATH or create bench.toml")
        try:
            data = tomllib.loads(cfg_path.read_text())
        except tomllib.TOMLDecodeError as e:
            raise BenchError(f"invalid TOML ({e})", cfg_path) from None
        cfg = _build(Config, data, "", str(cfg_path), base=Config(base_dir=cfg_path.resolve().parent))
        cfg.validate(str(cfg_path))
    return apply_overrides(cfg, overrides or [])
