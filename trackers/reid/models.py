"""Re-ID models, composed by one factory (timm-style): every switch is a typed config field.

Each model registers itself with its config dataclass and its training loss:
`@register_model("finetrack", config=FineTrackModelConfig, loss=finetrack_loss)`. The config class holds the
model's defaults (the one place they live); `ModelConfig.for_name(name)` / `ModelConfig.from_dict(d)` pick the
class by name, so bench's config loader rejects unknown keys and bad values when the file loads, and
`config.build(num_classes)` / `config.make_loss(train_config)` need no per-model branches in their callers.

Contract shared by every model here:
  train mode: `forward(x) -> {"features": pre-BN feature (triplet loss), "logits": (B, num_classes) (CE loss)}`
  eval mode:  `forward(x) -> (B, embedding_dim)` L2-normalised embedding (the post-BN feature), for cosine matching.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from trackers.reid.heads import BNNeck
from trackers.reid.losses import ReIDLoss, ReIDLossConfig
from trackers.reid.resnet import LAYOUTS, ResNet

POOLINGS = ("avg", "gem")
LOSS = {"loss": True}  # field metadata: a loss weight of the model's registered loss, not a constructor argument
LEGACY_EXTRA = "extra"  # checkpoints written before typed configs kept model switches in a free-form dict


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
        if name not in MODEL_REGISTRY:
            raise ValueError(f"unknown Re-ID model {name!r}; registered: {', '.join(sorted(MODEL_REGISTRY))}")
        return MODEL_REGISTRY[name].config(name=name, **values)

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

    def build(self, num_classes: int) -> nn.Module:
        return build_model(self.name, num_classes, **self.model_kwargs())

    def make_loss(self, train_config: Any) -> nn.Module:
        """The model's training loss, weighted by the training section (see each model's registered loss)."""
        return MODEL_REGISTRY[self.name].loss(self, train_config)


class GeM(nn.Module):
    """Generalized-mean pooling (Radenović et al. 2018): p=1 is average, p->inf is max; p is learned."""

    def __init__(self, p: float = 3.0, eps: float = 1e-6) -> None:
        super().__init__()
        self.p = nn.Parameter(torch.tensor(float(p)))
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        return x.clamp(min=self.eps).pow(self.p).mean(dim=(2, 3)).pow(1.0 / self.p)


class AvgPool(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return x.mean(dim=(2, 3))


def make_pooling(name: str) -> nn.Module:
    if name == "avg":
        return AvgPool()
    if name == "gem":
        return GeM()
    raise ValueError(f"unknown pooling {name!r}; use {' or '.join(POOLINGS)}")


class GlobalReID(nn.Module):
    """ResNet backbone -> global pooling (average by default, GeM optional) -> [Linear reduction] -> BNNeck.

    The strong Re-ID baseline (Luo et al. 2019): one global feature per crop, triplet loss before the BN,
    label-smoothed cross-entropy after it, cosine distance on the post-BN feature at test time.
    """

    def __init__(
        self,
        num_classes: int,
        layout: str = "resnet18",
        width: float = 0.25,
        last_stride: int = 1,
        pooling: str = "avg",
        embedding_dim: int | None = None,
        input_size: tuple[int, int] = (128, 64),
    ) -> None:
        super().__init__()
        self.input_size = tuple(input_size)
        self.backbone = ResNet(layout=layout, width=width, last_stride=last_stride)
        self.pool = make_pooling(pooling)
        feat_dim = self.backbone.out_channels
        self.reduction: nn.Module | None = None
        if embedding_dim is not None and embedding_dim != feat_dim:
            # A bias-free linear projection: the BNNeck that follows supplies the affine part.
            self.reduction = nn.Linear(feat_dim, embedding_dim, bias=False)
            nn.init.kaiming_normal_(self.reduction.weight, mode="fan_out")
            feat_dim = embedding_dim
        self.neck = BNNeck(feat_dim, num_classes)
        self._embedding_dim = feat_dim

    @property
    def embedding_dim(self) -> int:
        return self._embedding_dim

    @property
    def num_classes(self) -> int:
        return self.neck.num_classes

    def forward(self, x: Tensor) -> dict[str, Tensor] | Tensor:
        f = self.pool(self.backbone(x))
        if self.reduction is not None:
            f = self.reduction(f)
        bn_feature, logits = self.neck(f)
        if self.training:
            if logits is None:
                raise RuntimeError("GlobalReID was built with num_classes=0 (inference only); it cannot train")
            return {"features": f, "logits": logits}
        return F.normalize(bn_feature, dim=1)


ModelBuilder = Callable[..., nn.Module]
LossFactory = Callable[[Any, Any], nn.Module]  # (model config, trainer's TrainConfig) -> loss module


def global_loss(mc: ModelConfig, tc: Any) -> nn.Module:
    """Strong-baseline objective: label-smoothed CE + batch-hard triplet, weights from the training section."""
    return ReIDLoss(ReIDLossConfig(label_smoothing=tc.label_smoothing, margin=tc.triplet_margin))


@dataclass(frozen=True)
class ModelEntry:
    builder: ModelBuilder  # builder(num_classes=..., **config.model_kwargs()) -> nn.Module
    config: type[ModelConfig]
    loss: LossFactory


MODEL_REGISTRY: dict[str, ModelEntry] = {}


def register_model(
    name: str, config: type[ModelConfig] = ModelConfig, loss: LossFactory = global_loss
) -> Callable[[ModelBuilder], ModelBuilder]:
    """Decorator: make `build_model(name, ...)` call the decorated builder/class; `config` is the model's config
    dataclass (a ModelConfig subclass holding its defaults), `loss` builds its training loss."""

    def deco(builder: ModelBuilder) -> ModelBuilder:
        if name in MODEL_REGISTRY:
            raise ValueError(f"model {name!r} is already registered")
        MODEL_REGISTRY[name] = ModelEntry(builder, config, loss)
        return builder

    return deco


register_model("global")(GlobalReID)


def build_model(name: str, num_classes: int, **kwargs: Any) -> nn.Module:
    """Build a registered Re-ID model; `num_classes=0` builds an inference-only model (no classifier)."""
    if name not in MODEL_REGISTRY:
        raise ValueError(f"unknown Re-ID model {name!r}; registered: {sorted(MODEL_REGISTRY)}")
    return MODEL_REGISTRY[name].builder(num_classes=num_classes, **kwargs)


# Models defined in their own modules register themselves on import; imported last to avoid a circular import.
import trackers.reid.finetrack  # noqa: E402,F401  (registers "finetrack")
