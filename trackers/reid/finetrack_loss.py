"""FineTrack training objective (registered with the FineTrack model as its loss).

L = α·(L_cls^p + L_tri^p) + β·(L_cls^g + L_tri^g) + γ·L_div, with α = 0.5·K, β = 0.3, γ = 2 by default
(FineTrack; the defaults are `FineTrackLossConfig`'s, set per model as `reid.<tracker>.model.part_weight_per_k`,
`global_weight`, `diversity_weight`, `diversity`).
The part terms are averaged over the K parts (label-smoothed CE on each part's logits, batch-hard triplet on each
part's pre-BN feature), so α = 0.5·K makes the part objective 0.5·Σ_k — each part weighs as much as it would alone.

The diversity term keeps the K unsupervised masks from collapsing onto the same region: it is the mean pairwise
cosine similarity of one crop's part features,
    L_div = 1/(N·K(K−1)) · Σ_n Σ_{i≠j} cos(f_p^{n,i}, f_p^{n,j}),
computed on the *pre-BN* part features (the ones the masks pool directly, so the gradient acts on the masks, not on
the BN statistics). The fused map is post-ReLU, hence these cosines lie in [0, 1]; 0 means parts that use disjoint
channels. For K < 2 the term is 0.

For a model without parts (parts="none", no "part_features" in its output) the objective reduces to
β·(global CE + global triplet).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from trackers.reid.configs import PART_WEIGHT_PER_K, FineTrackModelConfig, TrainConfig
from trackers.reid.losses import batch_hard_triplet_loss, cross_entropy_label_smoothing


def diversity_loss(part_features: Tensor) -> Tensor:
    """Mean off-diagonal cosine similarity between the K part features of each sample; part_features (N, K, D)."""
    if part_features.ndim != 3:
        raise ValueError(f"expected part features (N, K, D), got {tuple(part_features.shape)}")
    n, k, _ = part_features.shape
    if k < 2 or n == 0:
        return part_features.sum() * 0.0
    unit = F.normalize(part_features, dim=2)
    cos = unit @ unit.transpose(1, 2)  # (N, K, K)
    off_diag = cos.sum() - cos.diagonal(dim1=1, dim2=2).sum()
    return off_diag / (n * k * (k - 1))


@dataclass
class FineTrackLossConfig:
    """Weights of the FineTrack objective; `alpha=None` means part_weight_per_k·K (0.5·K) for the model's K parts."""

    alpha: float | None = None
    beta: float = FineTrackModelConfig.global_weight
    gamma: float = FineTrackModelConfig.diversity_weight
    diversity: bool = FineTrackModelConfig.diversity  # False: drop γ·L_div (ablation)
    label_smoothing: float = TrainConfig.label_smoothing
    margin: float = TrainConfig.triplet_margin
    soft_margin: bool = False


class FineTrackLoss(nn.Module):
    """Combined FineTrack objective on a train-mode `FineTrackReID` output; returns the parts for logging.

    Keys: loss (with graph), cls_p, tri_p, cls_g, tri_g, div (detached; part terms are per-part means, and are 0
    for a model without parts).
    """

    def __init__(self, config: FineTrackLossConfig | None = None) -> None:
        super().__init__()
        self.config = config or FineTrackLossConfig()

    def alpha_for(self, k: int) -> float:
        return PART_WEIGHT_PER_K * k if self.config.alpha is None else self.config.alpha

    def forward(self, outputs: dict[str, Tensor], labels: Tensor) -> dict[str, Tensor]:
        c = self.config
        cls_g = cross_entropy_label_smoothing(outputs["logits"], labels, c.label_smoothing)
        tri_g = batch_hard_triplet_loss(outputs["features"], labels, c.margin, c.soft_margin)
        loss = c.beta * (cls_g + tri_g)
        zero = cls_g.detach() * 0.0
        cls_p = tri_p = div = zero
        part_features = outputs.get("part_features")
        if part_features is not None and part_features.shape[1] > 0:
            part_logits = outputs["part_logits"]
            k = part_features.shape[1]
            cls_p = torch.stack(
                [cross_entropy_label_smoothing(part_logits[:, i], labels, c.label_smoothing) for i in range(k)]
            ).mean()
            tri_p = torch.stack(
                [batch_hard_triplet_loss(part_features[:, i], labels, c.margin, c.soft_margin) for i in range(k)]
            ).mean()
            div = diversity_loss(part_features)
            loss = loss + self.alpha_for(k) * (cls_p + tri_p)
            if c.diversity:
                loss = loss + c.gamma * div
        return {
            "loss": loss,
            "cls_p": cls_p.detach(),
            "tri_p": tri_p.detach(),
            "cls_g": cls_g.detach(),
            "tri_g": tri_g.detach(),
            "div": div.detach(),
        }


def finetrack_loss(mc: FineTrackModelConfig, tc: TrainConfig) -> FineTrackLoss:
    """FineTrack's loss for model config `mc` (its K and loss weights; α = part_weight_per_k·K), with the training
    section's label smoothing and triplet margin."""
    return FineTrackLoss(
        FineTrackLossConfig(
            alpha=mc.part_weight_per_k * mc.k,
            beta=mc.global_weight,
            gamma=mc.diversity_weight,
            diversity=mc.diversity,
            label_smoothing=tc.label_smoothing,
            margin=tc.triplet_margin,
        )
    )


__all__ = ["FineTrackLoss", "FineTrackLossConfig", "diversity_loss", "finetrack_loss"]
