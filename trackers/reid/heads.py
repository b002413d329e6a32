"""Re-ID heads.

BNNeck (Luo et al. 2019, "Bag of Tricks and a Strong Baseline for Deep Person Re-ID"): the triplet loss is applied
to the feature *before* a BatchNorm1d and the ID (cross-entropy) loss to the feature *after* it. The two losses
want different geometry (free Euclidean space vs. a hypersphere-like space for a linear classifier); the BN
decouples them. The BN bias is frozen at 0 and the classifier has no bias so the class boundaries pass through
the origin, which is what makes the post-BN feature good for cosine retrieval at inference.
"""

from __future__ import annotations

from torch import Tensor, nn


class BNNeck(nn.Module):
    """feature -> BatchNorm1d (bias frozen at 0) -> Linear classifier (no bias).

    `forward(f)` returns `(bn_feature, logits)`; `logits` is None when the module is in eval mode (the classifier
    is only needed for the training loss) or when `num_classes == 0` (inference-only model).
    """

    def __init__(self, in_dim: int, num_classes: int) -> None:
        super().__init__()
        if num_classes < 0:
            raise ValueError(f"num_classes must be >= 0, got {num_classes}")
        self.in_dim = in_dim
        self.num_classes = num_classes
        self.bn = nn.BatchNorm1d(in_dim)
        nn.init.ones_(self.bn.weight)
        nn.init.zeros_(self.bn.bias)
        self.bn.bias.requires_grad_(False)
        self.classifier: nn.Linear | None = None
        if num_classes > 0:
            self.classifier = nn.Linear(in_dim, num_classes, bias=False)
            # Small init as in the strong baseline: the logits start near uniform, so the first steps are not
            # dominated by a random classifier.
            nn.init.normal_(self.classifier.weight, std=0.001)

    def forward(self, f: Tensor) -> tuple[Tensor, Tensor | None]:
        bn_feature = self.bn(f)
        if not self.training or self.classifier is None:
            return bn_feature, None
        return bn_feature, self.classifier(bn_feature)
