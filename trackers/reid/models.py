"""Re-ID models, composed by one factory (timm-style): every switch is a constructor argument.

`build_model("global", num_classes, layout=..., width=...)` looks the name up in `MODEL_REGISTRY`; a new model
(e.g. FineTrack) registers itself with `@register_model("finetrack")` and becomes buildable from the same config
path without touching this file's callers.

Contract shared by every model here:
  train mode: `forward(x) -> {"features": pre-BN feature (triplet loss), "logits": (B, num_classes) (CE loss)}`
  eval mode:  `forward(x) -> (B, embedding_dim)` L2-normalised embedding (the post-BN feature), for cosine matching.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from trackers.reid.heads import BNNeck
from trackers.reid.resnet import ResNet


@dataclass
class ModelConfig:
    """Everything needed to rebuild a model; `to_dict()` is what gets hashed/stored next to checkpoints."""

    name: str = "global"
    layout: str = "resnet18"
    width: float = field(default=0.25, metadata={"range": "(0, inf)"})
    input_size: tuple[int, int] = field(default=(128, 64), metadata={"range": "[1, inf)"})  # (H, W) of a crop
    last_stride: int = field(default=1, metadata={"choices": (1, 2)})
    pooling: str = field(default="avg", metadata={"choices": ("avg", "gem")})  # "avg" or "gem"
    # None: use the backbone's C5 channels, no reduction layer
    embedding_dim: int | None = field(default=None, metadata={"range": "[1, inf)"})
    extra: dict[str, Any] = field(default_factory=dict)  # model-specific switches (e.g. for finetrack)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["input_size"] = list(self.input_size)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        d = dict(d)
        if "input_size" in d:
            d["input_size"] = tuple(d["input_size"])
        return cls(**d)

    def model_kwargs(self) -> dict[str, Any]:
        """Constructor kwargs for `build_model` (everything but the name)."""
        d = {k: v for k, v in asdict(self).items() if k not in ("name", "extra")}
        d["input_size"] = tuple(self.input_size)
        d.update(self.extra)
        return d

    def build(self, num_classes: int) -> nn.Module:
        return build_model(self.name, num_classes, **self.model_kwargs())


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
    raise ValueError(f"unknown pooling {name!r}; use 'avg' or 'gem'")


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
MODEL_REGISTRY: dict[str, ModelBuilder] = {}


def register_model(name: str) -> Callable[[ModelBuilder], ModelBuilder]:
    """Decorator: make `build_model(name, ...)` call the decorated builder/class."""

    def deco(builder: ModelBuilder) -> ModelBuilder:
        if name in MODEL_REGISTRY:
            raise ValueError(f"model {name!r} is already registered")
        MODEL_REGISTRY[name] = builder
        return builder

    return deco


register_model("global")(GlobalReID)


def build_model(name: str, num_classes: int, **kwargs: Any) -> nn.Module:
    """Build a registered Re-ID model; `num_classes=0` builds an inference-only model (no classifier)."""
    if name not in MODEL_REGISTRY:
        raise ValueError(f"unknown Re-ID model {name!r}; registered: {sorted(MODEL_REGISTRY)}")
    return MODEL_REGISTRY[name](num_classes=num_classes, **kwargs)


# Models defined in their own modules register themselves on import; imported last to avoid a circular import.
import trackers.reid.finetrack  # noqa: E402,F401  (registers "finetrack")
