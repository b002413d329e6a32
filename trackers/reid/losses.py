"""Re-ID training losses: label-smoothed cross-entropy (ID loss) and batch-hard triplet loss (metric loss).

Batch-hard triplet (Hermans, Beyer & Leibe 2017, "In Defense of the Triplet Loss for Person Re-Identification"):
for every anchor `a` in a P×K batch take the *farthest* sample with the same identity and the *closest* sample
with a different identity, using plain Euclidean distance, and hinge on `d(a,p) - d(a,n) + margin` (or the
soft-margin `softplus(d(a,p) - d(a,n))`, which keeps pulling already-satisfied triplets together).

Anchors that have no positive (their identity occurs once in the batch) or no negative (the batch holds one
identity) define no triplet: they are excluded from the mean rather than contributing a meaningless 0 or
d(a,n)-only term. If no anchor is valid the loss is an exact 0 that still carries a graph, so a training loop
can call `.backward()` unconditionally.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def cross_entropy_label_smoothing(logits: Tensor, targets: Tensor, epsilon: float = 0.1) -> Tensor:
    """Mean CE against the smoothed target `(1-eps)*onehot + eps/C` (Szegedy et al. 2016), as in the Re-ID
    strong baseline; identical to torch's `label_smoothing=eps`."""
    return F.cross_entropy(logits, targets, label_smoothing=epsilon)


def pairwise_euclidean(x: Tensor) -> Tensor:
    """(B, B) Euclidean distances. The squared distance is clamped before the sqrt: at 0 the sqrt's gradient is
    infinite (NaN after backprop through the diagonal/duplicates)."""
    sq = (x * x).sum(dim=1)
    d2 = sq[:, None] + sq[None, :] - 2.0 * (x @ x.t())
    return d2.clamp(min=1e-12).sqrt()


def batch_hard_triplet_loss(
    features: Tensor, labels: Tensor, margin: float = 0.3, soft_margin: bool = False
) -> Tensor:
    """Batch-hard triplet loss, averaged over anchors that have at least one positive and one negative.

    features: (B, D) embeddings (the pre-BN feature in the BNNeck recipe); labels: (B,) identity ids.
    """
    if features.ndim != 2 or labels.ndim != 1 or features.shape[0] != labels.shape[0]:
        shapes = f"{tuple(features.shape)}, {tuple(labels.shape)}"
        raise ValueError(f"expected features (B, D) and labels (B,), got {shapes}")
    dist = pairwise_euclidean(features)
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    pos_mask = same & ~eye
    neg_mask = ~same
    valid = pos_mask.any(dim=1) & neg_mask.any(dim=1)
    # Hardest positive: max over positives (non-positives masked to -inf). Hardest negative: min over negatives.
    d_ap = dist.masked_fill(~pos_mask, float("-inf")).amax(dim=1)
    d_an = dist.masked_fill(~neg_mask, float("inf")).amin(dim=1)
    if features.device.type != "cpu":
        return masked_triplet_mean(d_ap, d_an, valid, margin, soft_margin)
    if not bool(valid.any()):
        return features.sum() * 0.0
    d_ap, d_an = d_ap[valid], d_an[valid]
    if soft_margin:
        per_anchor = F.softplus(d_ap - d_an)
    else:
        per_anchor = F.relu(d_ap - d_an + margin)
    return per_anchor.mean()


def masked_triplet_mean(d_ap: Tensor, d_an: Tensor, valid: Tensor, margin: float, soft_margin: bool) -> Tensor:
    """The batch-hard mean over valid anchors without a host sync (no bool(), no boolean indexing), for GPUs:
    equal to the CPU path up to float summation order; invalid anchors have -inf gaps, hence a 0 term, and a batch
    without any valid anchor gives 0."""
    gap = d_ap - d_an
    per_anchor = F.softplus(gap) if soft_margin else F.relu(gap + margin)
    return (per_anchor * valid).sum() / valid.sum().clamp(min=1)


class TripletLoss(nn.Module):
    def __init__(self, margin: float = 0.3, soft_margin: bool = False) -> None:
        super().__init__()
        self.margin = margin
        self.soft_margin = soft_margin

    def forward(self, features: Tensor, labels: Tensor) -> Tensor:
        return batch_hard_triplet_loss(features, labels, self.margin, self.soft_margin)


@dataclass
class ReIDLossConfig:
    """Weights of the strong-baseline objective: `ce_weight * CE(logits) + triplet_weight * triplet(features)`."""

    ce_weight: float = 1.0
    triplet_weight: float = 1.0
    label_smoothing: float = 0.1
    margin: float = 0.3
    soft_margin: bool = False


class ReIDLoss(nn.Module):
    """Combined ID + metric loss on a train-mode model output dict; returns the parts for logging."""

    def __init__(self, config: ReIDLossConfig | None = None) -> None:
        super().__init__()
        self.config = config or ReIDLossConfig()

    def forward(self, outputs: dict[str, Tensor], labels: Tensor) -> dict[str, Tensor]:
        c = self.config
        ce = cross_entropy_label_smoothing(outputs["logits"], labels, c.label_smoothing)
        tri = batch_hard_triplet_loss(outputs["features"], labels, c.margin, c.soft_margin)
        return {"loss": c.ce_weight * ce + c.triplet_weight * tri, "ce": ce.detach(), "triplet": tri.detach()}
