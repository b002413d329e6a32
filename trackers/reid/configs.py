"""Re-ID declarations: each model's config dataclass (its switches and defaults, the one place they live) and the
training config, torch-free so bench's config loader can check `[reid.*]` keys without importing a model.

Each model config registers its model (`trackers.reid.registry`): `@register_model("finetrack", builder=...,
loss=..., train={"sampler": "sgs"})`. `ModelConfig.for_name(name)` / `ModelConfig.from_dict(d)` pick the class by
name, and `config.build(num_classes)` / `config.make_loss(train_config)` import the implementation when called.

Ranges and choices are dataclass metadata, checked by `bench.core.config` as values are set.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field
from typing import Any

from trackers.reid.registry import MODEL_REGISTRY, model_entry, register_model

LAYOUTS = ("resnet18", "resnet34", "resnet50")  # the block layouts of trackers.reid.resnet.LAYOUTS
POOLINGS = ("avg", "gem")
SCHEDULES = ("cosine", "step")
PRECISIONS = ("auto", "fp32", "bf16")
PART_MODES = ("mpmg", "stripes", "none")
PART_WEIGHT_PER_K = 0.5  # FineTrack's α = 0.5·K
LOSS = {"loss": True}  # field metadata: a loss weight of the model's registered loss, not a constructor argument
LEGACY_EXTRA = "extra"  # checkpoints written before typed configs kept model switches in a free-form dict


@dataclass
class TrainConfig:
    epochs: int = field(default=12, metadata={"range": "[1, inf)"})
    p: int = field(default=16, metadata={"range": "[1, inf)"})  # identities per batch
    k: int = field(default=4, metadata={"range": "[1, inf)"})  # crops per identity
    lr: float = field(default=1e-3, metadata={"range": "(0, inf)"})
    weight_decay: float = field(default=5e-4, metadata={"range": "[0, inf)"})
    warmup_epochs: float = field(default=1.0, metadata={"range": "[0, inf)"})
    # cosine | step (×0.1 at 50% and 80% of the iterations)
    schedule: str = field(default="cosine", metadata={"choices": SCHEDULES})
    label_smoothing: float = field(default=0.1, metadata={"range": "[0, 1)"})
    triplet_margin: float = field(default=0.3, metadata={"range": "[0, inf)"})
    # gt crops below this visibility are not trained on
    min_visibility: float = field(default=0.3, metadata={"range": "[0, 1]"})
    # take every n-th frame of the train sequences (adjacent frames are near duplicates)
    frame_stride: int = field(default=2, metadata={"range": "[1, inf)"})
    flip: bool = True  # random horizontal flip
    # random translation by up to this many pixels (pad + crop)
    pad_crop: int = field(default=4, metadata={"range": "[0, inf)"})
    # pk: P identities × K crops; sgs: shuffled groups of consecutive frames; random
    sampler: str = field(default="pk", metadata={"choices": ("pk", "sgs", "random")})
    group_frames: int = field(default=8, metadata={"range": "[1, inf)"})  # sgs: consecutive frames per group
    # stop when retrieval mAP on held-out train identities stops improving, best epoch's weights kept
    # (trackers/reid/early_stop.py); the schedule stays the one over `epochs`, so stopping truncates it
    early_stop: bool = False
    # share of the train split's identities held out for that mAP (whole identities; the val split is never used)
    stop_holdout: float = field(default=0.15, metadata={"range": "(0, 1)"})
    stop_min_epochs: int = field(default=4, metadata={"range": "[1, inf)"})  # never stop before this many epochs
    stop_patience: int = field(default=2, metadata={"range": "[1, inf)"})  # evaluations without an improvement
    stop_min_delta: float = field(default=0.005, metadata={"range": "[0, 1]"})  # mAP gain that counts as one
    stop_every: int = field(default=1, metadata={"range": "[1, inf)"})  # evaluate every n-th epoch (and the last)
    # bf16: autocast (convs and matmuls in bf16, losses and weights in fp32); auto: bf16 where the device computes
    # bf16 itself (CUDA, a CPU with AVX512-BF16 or AMX), fp32 elsewhere (emulated bf16 is slower than fp32). The
    # precision used is recorded with the checkpoint (`trackers.reid.train.training_precision`)
    precision: str = field(default="auto", metadata={"choices": PRECISIONS})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def for_model(name: str) -> TrainConfig:
        """The training defaults model `name` registered (TrainConfig's own for the fields it leaves out)."""
        return TrainConfig(**model_entry(name).train)


@register_model("global", builder="trackers.reid.models:GlobalReID")
@dataclass
class ModelConfig:
    """The global model's config and the base of every model's config. `to_dict()` (plain values only) is what
    gets hashed and stored in checkpoints; fields other than `name` and `pretrained` are constructor kwargs."""

    name: str = "global"
    layout: str = field(default="resnet18", metadata={"choices": LAYOUTS})
    width: float = field(default=0.25, metadata={"range": "(0, inf)"})
    input_size: tuple[int, int] = field(default=(128, 64), metadata={"range": "[1, inf)"})  # (H, W) of a crop
    last_stride: int = field(default=1, metadata={"choices": (1, 2)})
    pooling: str = field(default="avg", metadata={"choices": POOLINGS})
    # None: use the backbone's C5 channels, no reduction layer
    embedding_dim: int | None = field(default=None, metadata={"range": "[1, inf)"})
    pretrained: str = ""  # torchvision/timm ImageNet ResNet state dict loaded into the backbone before training

    def __post_init__(self) -> None:
        entry = MODEL_REGISTRY.get(self.name)
        if entry is None:
            known = ", ".join(sorted(MODEL_REGISTRY))
            raise ValueError(f"name: unknown Re-ID model {self.name!r}; registered: {known}")
        if type(self) is not entry.config:
            raise ValueError(f"model {self.name!r} takes a {entry.config.__name__}, not a {type(self).__name__}")

    @staticmethod
    def for_name(name: str, **values: Any) -> ModelConfig:
        """The registered config class of model `name`, with `values` set (ValueError for an unknown name)."""
        return model_entry(name).config(name=name, **values)

    def renamed(self, name: str) -> ModelConfig:
        """This config as model `name`'s config: shared fields kept, the other model's own fields at its defaults."""
        target = MODEL_REGISTRY[name].config if name in MODEL_REGISTRY else None
        if target is type(self):
            return dataclasses.replace(self, name=name)
        shared = {f.name: getattr(self, f.name) for f in dataclasses.fields(ModelConfig) if f.name != "name"}
        return ModelConfig.for_name(name, **shared)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["input_size"] = list(self.input_size)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        """Rebuild from `to_dict()` output (also the older form with an `extra` dict); unknown keys are errors."""
        d = dict(d)
        d.update(d.pop(LEGACY_EXTRA, None) or {})
        if "input_size" in d:
            d["input_size"] = tuple(d["input_size"])
        return ModelConfig.for_name(d.pop("name", "global"), **d)

    def model_kwargs(self) -> dict[str, Any]:
        """Constructor kwargs for the registered builder (all but the name, the pretrained file and loss weights)."""
        skip = {"name", "pretrained"} | {f.name for f in dataclasses.fields(self) if f.metadata.get("loss")}
        d = {k: v for k, v in asdict(self).items() if k not in skip}
        d["input_size"] = tuple(self.input_size)
        return d

    def build(self, num_classes: int) -> Any:
        """The model (a torch module; imports its implementation)."""
        return model_entry(self.name).build(num_classes, **self.model_kwargs())

    def make_loss(self, train_config: TrainConfig) -> Any:
        """The model's training loss, weighted by the training section (see each model's registered loss)."""
        return model_entry(self.name).make_loss(self, train_config)


@register_model(
    "finetrack",
    builder="trackers.reid.finetrack_model:FineTrackReID",
    loss="trackers.reid.finetrack_loss:finetrack_loss",
    train={"sampler": "sgs"},
)
@dataclass
class FineTrackModelConfig(ModelConfig):
    """FineTrack's switches and their defaults (the one place they live); keys `reid.<tracker>.model.<field>`.
    Fields marked `loss` weight its training objective (`finetrack_loss`) and are not constructor arguments."""

    name: str = "finetrack"
    fafpn: bool = True  # flow-aligned FPN merge (False: plain bilinear FPN)
    # mpmg (learned masks) | stripes (fixed horizontal) | none (global branch only)
    parts: str = field(default="mpmg", metadata={"choices": PART_MODES})
    k: int = field(default=6, metadata={"range": "[1, inf)"})  # number of parts K
    fpn_dim: int | None = field(default=None, metadata={"range": "[1, inf)"})  # None: scaled_width(256, width)
    out_stride: int = field(default=4, metadata={"choices": (4, 8)})  # 4: fuse down to C2; 8: stop at C3
    # α = part_weight_per_k · K
    part_weight_per_k: float = field(default=PART_WEIGHT_PER_K, metadata={**LOSS, "range": "[0, inf)"})
    global_weight: float = field(default=0.3, metadata={**LOSS, "range": "[0, inf)"})  # β
    diversity_weight: float = field(default=2.0, metadata={**LOSS, "range": "[0, inf)"})  # γ
    diversity: bool = field(default=True, metadata=LOSS)  # False: no γ·L_div (ablation)
