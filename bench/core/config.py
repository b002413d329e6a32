"""Typed configuration loaded from `bench.toml`, with CLI overrides.

This module is the schema: every section is a dataclass. Reading a table into it is the generic engine's
(`bench.core.typed_toml`): unknown keys, values of the wrong type, NaN/inf and values outside a field's declared range
or choices are rejected with one error naming the key (e.g. `trackers.bytetrack.track_tresh`), so a typo never
silently falls back to a default and an impossible value never silently gives zero tracks.

Ranges and choices are declared next to each field as dataclass metadata:
`field(default=0.6, metadata={"range": "[0, 1]"})` (closed `[ ]` or open `( )` ends, `inf` for no upper bound;
applied to every item of a list) and `metadata={"choices": ("cosine", "step")}`.

`[trackers.<name>]` and `[reid.<name>]` have one field per registered tracker (`bench.core.trackers_registry`); their
classes are made from the registry and derive from `TrackersSection` / `ReIDSectionBase`, which type `Config`.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.core import trackers_registry
from bench.core.errors import BenchError
from bench.core.fsutil import stable_hash
from bench.core.metric_catalog import HEADLINE
from bench.core.typed_toml import build
from bench.data.benchmarks import BENCHMARKS
from bench.data.synth.params import SynthParams, crowd_params
from trackers.reid.configs import ModelConfig, TrainConfig

DEVICES = ("auto", "cpu", "cuda")
DETECTORS = ("FRCNN", "DPM", "SDP")
DETECTION_SOURCES = ("public", "yolox", "files")
SPLIT_MODES = ("auto", "half")
PRIMARY_METRICS = tuple(HEADLINE)  # HOTA, AssA, IDF1, MOTA, IDs (bench.core.metric_catalog)


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
    detections: str = field(default="public", metadata={"choices": DETECTION_SOURCES})
    device: str = field(default="auto", metadata={"choices": DEVICES})
    seed: int = field(default=0, metadata={"range": "[0, 4294967295]"})  # numpy seeds are 32-bit
    jobs: int = field(default=2, metadata={"range": "[1, inf)"})
    backend: str = field(default="loky", metadata={"choices": ("loky", "dask"), "hashed": False})  # bench.core.backends
    scheduler: str = field(default="", metadata={"hashed": False})  # dask scheduler address; "": a LocalCluster


@dataclass
class FilesDetectionsConfig:
    """`run.detections = "files"`: `<dir>/<SEQ>.txt` per sequence in MOTChallenge det format (another pipeline's saved
    detector output), frame numbers of the dataset's own sequences."""

    dir: str = ""


YOLOX_STRIDE = 32  # YOLOX's coarsest feature stride: input sides must be multiples of it


@dataclass(frozen=True)
class YOLOXConfig:
    """`run.detections = "yolox"`: a YOLOX person detector (`bench.detect.yolox.YOLOXSource` adds the device).

    Defaults reproduce ByteTrack's MOT17 evaluation (`tools/track.py`): YOLOX-X with one class, conf 0.01 (low
    enough to keep ByteTrack's second-stage low-score boxes, its low threshold being 0.1), NMS IoU 0.7, fused
    conv+BN and the legacy ImageNet normalisation. `input_size=None` takes the exp's `test_size`: give (800, 1440)
    with `exp="yolox-x"`, or use ByteTrack's exp file `exps/example/mot/yolox_x_mix_det.py`, which sets it.
    """

    exp: str = "yolox-x"  # a yolox exp name or the path of an exp file defining class Exp
    checkpoint: str = ""  # .pth / .pth.tar (no weights can be downloaded by bench)
    # (height, width), multiples of YOLOX_STRIDE; None = the exp's test_size
    input_size: tuple[int, int] | None = field(default=None, metadata={"range": "[1, inf)"})
    conf_thresh: float = field(default=0.01, metadata={"range": "[0, 1]"})  # keep obj_conf * cls_conf >= this
    nms_thresh: float = field(default=0.7, metadata={"range": "[0, 1]"})  # suppress IoU > this
    fp16: bool = True  # half precision; applied only on CUDA
    batch_size: int = field(default=8, metadata={"range": "[1, inf)"})
    num_classes: int = field(default=1, metadata={"range": "[1, inf)"})  # 1: ByteTrack's MOT detectors; 80: COCO
    class_index: int = field(default=0, metadata={"range": "[0, inf)"})  # which class is "person"
    legacy_normalise: bool = True  # True: RGB + ImageNet mean/std (ByteTrack); False: BGR 0..255 (YOLOX >= 0.1.1)
    fuse: bool = True  # fold BatchNorm into the convs (ByteTrack's --fuse): faster, numerically ~identical

    def __post_init__(self) -> None:
        if self.input_size is not None:
            size = tuple(self.input_size)
            if len(size) != 2 or any(v % YOLOX_STRIDE for v in size):
                raise ValueError(f"input_size must be [height, width], multiples of {YOLOX_STRIDE}, "
                                 f"got {list(self.input_size)}")
            object.__setattr__(self, "input_size", size)
        if self.class_index >= self.num_classes:
            raise ValueError(f"class_index must be < num_classes, got class_index={self.class_index}, "
                             f"num_classes={self.num_classes}")


@dataclass
class DetectionsConfig:
    """Detection source settings, used by the source `run.detections` names."""

    yolox: YOLOXConfig = field(default_factory=YOLOXConfig)
    files: FilesDetectionsConfig = field(default_factory=FilesDetectionsConfig)
    # Full-scale value of det-file scores (public and files sources): scores are divided by it, e.g. 100 for a
    # 0-100 detector. 1 = scores as written. Never guessed from the file (see bench.detect.sources.off_scale_warning).
    score_scale: float = field(default=1.0, metadata={"range": "(0, inf)"})


@dataclass
class SuiteConfig:
    """How a folder suite is split: `auto` uses its train/, val/, test/ folders (a flat folder is val only);
    `half` is ByteTrack's half split of train/ (or of the flat folder's sequences). `benchmark`: whose evaluation
    protocol scores it (`bench.data.benchmarks`; `auto` decides from the sequence names and the gt, or asks)."""

    split: str = field(default="auto", metadata={"choices": SPLIT_MODES})
    benchmark: str = field(default="auto", metadata={"choices": BENCHMARKS})


@dataclass
class Mot17Config:
    """MOT17 half split (ByteTrack's convention): val = second half of each training sequence."""

    detector: str = field(default="FRCNN", metadata={"choices": DETECTORS})


@dataclass
class OutputFilterConfig:
    """ByteTrack's MOT output filter (tools/track.py), applied to every tracker alike before writing results."""

    min_box_area: float = field(default=100.0, metadata={"range": "[0, inf)"})
    aspect_ratio_thresh: float = field(default=1.6, metadata={"range": "(0, inf)"})


@dataclass
class AnalysisConfig:
    """How results are read (not computed), so it is left out of the config hash: runs and caches stay shared."""

    primary: str = field(default="HOTA", metadata={"choices": PRIMARY_METRICS})  # carries each comparison's verdict
    # a table's primary verdicts are one family, Holm-adjusted together; false for a single planned comparison
    holm_primaries: bool = True
    error_strips: int = field(default=12, metadata={"range": "[0, 200]"})  # report: strips of top fixed/caused switches


@dataclass
class TuneConfig:
    """`bench tune` / `bench run --tuned N` (bench/commands/tune.py): what is optimised, on which sequences. `split`: train =
    the suite's train split; tune = its last `holdout` train sequences, with the appearance trackers' Re-ID models
    trained on the other train sequences. `space.<tracker>.<field>` = [lo, hi] (or a list of choices, or false to
    leave it out) overrides the search space the tracker's config class declares (TUNABLE)."""

    trials: int = field(default=50, metadata={"range": "[1, inf)"})
    split: str = field(default="train", metadata={"choices": ("train", "tune")})
    holdout: int = field(default=1, metadata={"range": "[1, inf)"})
    # "": the primary metric (analysis.primary); IDs is minimised, the rates maximised
    metric: str = field(default="", metadata={"choices": ("", "DetA", *PRIMARY_METRICS)})
    space: dict[str, Any] = field(default_factory=dict)


@dataclass
class ReIDModelSection:
    """One appearance tracker's Re-ID model: trained on the suite's train split (once, then cached) unless
    `checkpoint` names a `.pt` written by `bench train`. `model` is the config class registered for `model.name`
    (e.g. FineTrackModelConfig), so each model's own keys are checked."""

    checkpoint: str = ""
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


def _reid_section_factory(model: str):
    """The default `[reid.<tracker>]` of an appearance tracker: its model's config and training defaults."""
    return lambda: ReIDModelSection(model=ModelConfig.for_name(model), train=TrainConfig.for_model(model))


@dataclass
class ReIDSectionBase:
    """Re-ID models per appearance tracker (DeepSORT: the global baseline; FineTrack: FAFPN + MPMG)."""

    embed_batch_size: int = field(default=128, metadata={"range": "[1, inf)"})
    # retrieval eval: same-identity gallery crops closer than this are left out
    eval_min_frame_gap: int = field(default=25, metadata={"range": "[0, inf)"})
    eval_query_stride: int = field(default=10, metadata={"range": "[1, inf)"})  # every n-th frame's crops are queries

    def section(self, tracker: str) -> ReIDModelSection:
        return getattr(self, tracker)


@dataclass
class TrackersSection:
    """`[trackers]`: one field per registered tracker, holding its config class (`TrackerEntry.config_cls`)."""

    def params(self, tracker: str) -> Any:
        """Tracker `tracker`'s config (an instance of its registered config class)."""
        return getattr(self, tracker)


@functools.cache
def _sections(entries: tuple[trackers_registry.TrackerEntry, ...]) -> tuple[type, type]:
    """`[trackers.<name>]` (the tracker's own config class) and `[reid.<name>]` (appearance trackers only), one
    field per registry entry; one pair of classes per set of registered trackers."""
    trackers = dataclasses.make_dataclass(
        "TrackersConfig", [(e.name, e.config_cls, field(default_factory=e.config_cls)) for e in entries],
        bases=(TrackersSection,),
    )
    reid = dataclasses.make_dataclass(
        "ReIDSection",
        [
            (e.name, ReIDModelSection, field(default_factory=_reid_section_factory(e.reid_model)))
            for e in entries
            if e.reid_model
        ],
        bases=(ReIDSectionBase,),
    )
    trackers.__module__ = reid.__module__ = __name__
    return trackers, reid


def section_types() -> tuple[type, type]:
    """(TrackersConfig, ReIDSection) for the trackers registered now."""
    return _sections(tuple(trackers_registry.REGISTRY.values()))


def __getattr__(name: str) -> type:
    """`bench.core.config.TrackersConfig` / `.ReIDSection`: the current classes (so instances pickle by reference)."""
    if name == "TrackersConfig":
        return section_types()[0]
    if name == "ReIDSection":
        return section_types()[1]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass
class Config:
    paths: PathsConfig = field(default_factory=PathsConfig)
    run: RunConfig = field(default_factory=RunConfig)
    suite: SuiteConfig = field(default_factory=SuiteConfig)
    synth: SynthParams = field(default_factory=SynthParams)
    synth_crowd: SynthParams = field(default_factory=crowd_params)
    mot17: Mot17Config = field(default_factory=Mot17Config)
    detections: DetectionsConfig = field(default_factory=DetectionsConfig)
    output: OutputFilterConfig = field(default_factory=OutputFilterConfig)
    # one field per registered tracker: instances of `section_types()`, subclasses of these two
    trackers: TrackersSection = field(default_factory=lambda: section_types()[0]())
    reid: ReIDSectionBase = field(default_factory=lambda: section_types()[1]())
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    tune: TuneConfig = field(default_factory=TuneConfig)  # how parameters are found (not hashed)
    base_dir: Path = field(default=Path("."), metadata={"internal": True})

    def to_dict(self) -> dict[str, Any]:
        d = _asdict(self)
        d.pop("base_dir", None)
        return d

    def hash(self) -> str:
        """Hash of what determines results: fields marked `hashed: False` (where the work runs) are left out."""
        d = self.to_dict()
        d.pop("analysis")
        d.pop("tune")  # how parameters are found; the tuned values themselves are in trackers.*
        for f in dataclasses.fields(RunConfig):
            if f.metadata.get("hashed") is False:
                d["run"].pop(f.name)
        return stable_hash(d)

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
        """Checks across fields (each field's own range and choices are checked as it is set, by `_check_field`)."""
        if not self.run.trackers:
            raise BenchError("run.trackers is empty", source, hint="name at least one tracker")
        dup = sorted({t for t in self.run.trackers if self.run.trackers.count(t) > 1})
        if dup:
            raise BenchError(f"run.trackers names {', '.join(dup)} twice", source, hint="list each tracker once")
        known = trackers_registry.REGISTRY
        for name in self.run.trackers:
            if name not in known:
                raise BenchError(
                    f"run.trackers: unknown tracker {name!r}", source, hint=f"known: {', '.join(sorted(known))}"
                )
        if self.run.detections == "files" and not self.detections.files.dir:
            raise BenchError(
                "run.detections is 'files' but detections.files.dir is not set",
                source,
                hint='set [detections.files] dir = "folder with <SEQ>.txt per sequence"',
            )


def _asdict(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        return {f.name: _asdict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [_asdict(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    return obj


def _model_by_name(obj: Any, data: dict[str, Any], key: str, source: str) -> Any:
    """typed_toml hook: a Re-ID model's keys follow its `name`, so `name` switches the config class first."""
    if isinstance(obj, ModelConfig) and isinstance(data.get("name"), str):
        try:
            return obj.renamed(data["name"])
        except ValueError as e:
            raise BenchError(f"{key}.name: {e}", source) from None
    return obj


def _build(cls: type, data: dict[str, Any], prefix: str, source: str, base: Any = None) -> Any:
    """`cls` from a table, by the typed-TOML engine with the schema's one special case (`_model_by_name`)."""
    return build(cls, data, prefix, source, base=base, hook=_model_by_name)


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


def read_toml(path: Path, what: str, hint: str | None = None) -> dict[str, Any]:
    """A TOML file's tables; a missing file or a syntax error is one error naming the file (and, for syntax, the
    line)."""
    if not path.is_file():
        raise BenchError(f"{what} not found", path, hint=hint)
    try:
        return tomllib.loads(path.read_bytes().decode("utf-8-sig"))  # a leading BOM (Windows editors) is no error
    except UnicodeDecodeError as e:
        raise BenchError(f"not UTF-8 text ({e.reason} at byte {e.start})", path, hint="save it as UTF-8") from None
    except tomllib.TOMLDecodeError as e:
        raise BenchError(f"invalid TOML ({e})", path) from None


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """Load bench.toml (defaults when there is none) and apply overrides."""
    cfg_path = find_config(path)
    if cfg_path is None:
        cfg = Config(base_dir=Path.cwd())
    else:
        data = read_toml(cfg_path, "config file", hint="pass --config PATH or create bench.toml")
        cfg = _build(Config, data, "", str(cfg_path), base=Config(base_dir=cfg_path.resolve().parent))
        cfg.validate(str(cfg_path))
    return apply_overrides(cfg, overrides or [])
