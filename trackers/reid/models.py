"""The global Re-ID model (ResNet + pooling + BNNeck) and its loss; declared, with its config, in
`trackers.reid.configs` ("global"), built through `trackers.reid.registry`.

Contract shared by every Re-ID model:
  train mode: `forward(x) -> {"features": pre-BN feature (triplet loss), "logits": (B, num_classes) (CE loss)}`
  eval mode:  `forward(x) -> (B, embedding_dim)` L2-normalised embedding (the post-BN feature), for cosine matching.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from trackers.reid.configs import POOLINGS, ModelConfig, TrainConfig
from trackers.reid.heads import BNNeck
from trackers.reid.losses import ReIDLoss, ReIDLossConfig
from trackers.reid.resnet import ResNet


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


def global_loss(mc: ModelConfig, tc: TrainConfig) -> nn.Module:
    """Strong-baseline objective: label-smoothed CE + batch-hard triplet, weights from the training section."""
    return ReIDLoss(ReIDLossConfig(label_smoothing=tc.label_smoothing, margin=tc.triplet_margin))
