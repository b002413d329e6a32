"""FineTrackLoss: the diversity term against hand-computed cosines, the weighting of every term, the parts="none"
reduction, and the make_loss factory."""

from __future__ import annotations

import math

import pytest
import torch

from trackers.reid.configs import FineTrackModelConfig, ModelConfig, TrainConfig
from trackers.reid.finetrack_loss import FineTrackLoss, FineTrackLossConfig, diversity_loss
from trackers.reid.losses import ReIDLoss, batch_hard_triplet_loss, cross_entropy_label_smoothing

torch.set_num_threads(1)


def val(t: torch.Tensor) -> float:
    return float(t.detach())


def test_diversity_loss_hand_computed() -> None:
    # N=1, K=3 parts in 2-D: a=(1,0), b=(0,2), c=(3,3).
    # cos(a,b)=0, cos(a,c)=3/(1*sqrt(18))=1/sqrt(2), cos(b,c)=6/(2*sqrt(18))=1/sqrt(2).
    # Ordered pairs i!=j count each twice: sum = 2*(0 + 2/sqrt(2)) = 2*sqrt(2); divide by N*K*(K-1) = 6.
    parts = torch.tensor([[[1.0, 0.0], [0.0, 2.0], [3.0, 3.0]]])
    expected = 2 * math.sqrt(2) / 6
    assert val(diversity_loss(parts)) == pytest.approx(expected, rel=1e-6)


def test_diversity_loss_averages_over_samples_and_extremes() -> None:
    same = torch.tensor([[1.0, 1.0], [2.0, 2.0]])  # collinear parts: cosine 1
    orth = torch.tensor([[1.0, 0.0], [0.0, 5.0]])  # orthogonal parts: cosine 0
    assert val(diversity_loss(same[None])) == pytest.approx(1.0)
    assert val(diversity_loss(orth[None])) == pytest.approx(0.0, abs=1e-7)
    assert val(diversity_loss(torch.stack([same, orth]))) == pytest.approx(0.5)
    assert val(diversity_loss(torch.randn(4, 1, 8))) == 0.0  # K=1: no pairs


def _outputs(n: int = 8, k: int = 3, d: int = 6, c: int = 4, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "features": torch.randn(n, d, generator=g, requires_grad=True),
        "logits": torch.randn(n, c, generator=g, requires_grad=True),
        "part_features": torch.randn(n, k, d, generator=g, requires_grad=True),
        "part_logits": torch.randn(n, k, c, generator=g, requires_grad=True),
    }


LABELS = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])


def test_total_loss_weights_default_and_custom() -> None:
    out = _outputs()
    k = 3
    cls_g = cross_entropy_label_smoothing(out["logits"], LABELS, 0.1)
    tri_g = batch_hard_triplet_loss(out["features"], LABELS, 0.3)
    cls_p = sum(cross_entropy_label_smoothing(out["part_logits"][:, i], LABELS, 0.1) for i in range(k)) / k
    tri_p = sum(batch_hard_triplet_loss(out["part_features"][:, i], LABELS, 0.3) for i in range(k)) / k
    div = diversity_loss(out["part_features"])

    losses = FineTrackLoss()(out, LABELS)
    for name, ref in (("cls_g", cls_g), ("tri_g", tri_g), ("cls_p", cls_p), ("tri_p", tri_p), ("div", div)):
        assert val(losses[name]) == pytest.approx(val(ref), rel=1e-5), name
        assert not losses[name].requires_grad
    expected = 0.5 * k * (cls_p + tri_p) + 0.3 * (cls_g + tri_g) + 2.0 * div
    assert val(losses["loss"]) == pytest.approx(val(expected), rel=1e-5)
    assert losses["loss"].requires_grad

    custom = FineTrackLoss(FineTrackLossConfig(alpha=1.0, beta=2.0, gamma=0.5))(out, LABELS)
    expected = 1.0 * (cls_p + tri_p) + 2.0 * (cls_g + tri_g) + 0.5 * div
    assert val(custom["loss"]) == pytest.approx(val(expected), rel=1e-5)

    no_div = FineTrackLoss(FineTrackLossConfig(diversity=False))(out, LABELS)
    assert val(no_div["loss"]) == pytest.approx(val(losses["loss"] - 2.0 * div), rel=1e-5)
    assert val(no_div["div"]) == pytest.approx(val(div), rel=1e-5)  # still logged


def test_no_parts_reduces_to_weighted_global_loss() -> None:
    out = _outputs()
    global_only = {"features": out["features"], "logits": out["logits"]}
    losses = FineTrackLoss()(global_only, LABELS)
    ref = 0.3 * (cross_entropy_label_smoothing(out["logits"], LABELS, 0.1)
                 + batch_hard_triplet_loss(out["features"], LABELS, 0.3))
    assert val(losses["loss"]) == pytest.approx(val(ref), rel=1e-6)
    for name in ("cls_p", "tri_p", "div"):
        assert val(losses[name]) == 0.0


def test_diversity_gradient_pushes_parts_apart() -> None:
    parts = torch.tensor([[[1.0, 0.2], [0.9, 0.3]]], requires_grad=True)
    before = val(diversity_loss(parts))
    diversity_loss(parts).backward()
    with torch.no_grad():
        stepped = parts - 0.5 * parts.grad
    assert val(diversity_loss(stepped)) < before


def test_each_model_builds_its_registered_loss() -> None:
    assert isinstance(ModelConfig().make_loss(TrainConfig()), ReIDLoss)
    tc = TrainConfig(label_smoothing=0.0, triplet_margin=0.5)
    ft = FineTrackModelConfig(k=4, diversity_weight=1.0, diversity=False).make_loss(tc)
    assert isinstance(ft, FineTrackLoss)
    assert ft.config.label_smoothing == 0.0 and ft.config.margin == 0.5
    assert ft.config.gamma == 1.0 and not ft.config.diversity and ft.config.beta == 0.3
    assert ft.alpha_for(4) == 2.0  # part_weight_per_k (0.5) · K from the model config
    assert FineTrackLoss().alpha_for(6) == 3.0  # the default alpha follows K the same way
    with pytest.raises(ValueError, match="unknown Re-ID model"):
        ModelConfig(name="osnet")
