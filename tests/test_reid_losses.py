"""Losses against values computed by hand in the test."""

from __future__ import annotations

import math

import pytest
import torch

from trackers.reid.losses import (
    ReIDLoss,
    ReIDLossConfig,
    TripletLoss,
    batch_hard_triplet_loss,
    cross_entropy_label_smoothing,
)

torch.set_num_threads(1)

# Four 2-D points, identities 0,0,1,1.  Pairwise distances:
#   a-b = 5, a-c = 1, a-d = 2, b-c = sqrt(20), b-d = sqrt(13), c-d = sqrt(5)
FEATS = torch.tensor([[0.0, 0.0], [3.0, 4.0], [1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
LABELS = torch.tensor([0, 0, 1, 1])
# (hardest positive, hardest negative) per anchor, read off the table above.
HARD = [
    (5.0, 1.0),  # a: pos b, closest neg c
    (5.0, math.sqrt(13)),  # b: pos a, neg d (sqrt13 < sqrt20)
    (math.sqrt(5), 1.0),  # c: pos d, neg a
    (math.sqrt(5), 2.0),  # d: pos c, neg a (2 < sqrt13)
]


def test_batch_hard_triplet_hand_computed() -> None:
    expected = sum(max(ap - an + 0.3, 0.0) for ap, an in HARD) / 4
    got = batch_hard_triplet_loss(FEATS, LABELS, margin=0.3)
    assert got.ndim == 0
    assert got.item() == pytest.approx(expected, abs=1e-9)
    assert expected == pytest.approx((4.3 + 5.3 - math.sqrt(13) + 2 * math.sqrt(5) - 2.4) / 4)


def test_batch_hard_triplet_hinge_clamps_satisfied_anchors() -> None:
    # Identity 0 near the origin, identity 1 ten units away: every anchor has d_ap = 1 and d_an = 10.
    feats = torch.tensor([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 1.0]], dtype=torch.float64)
    # 1 - 10 + 0.3 < 0: all four anchors are satisfied.
    assert batch_hard_triplet_loss(feats, LABELS, margin=0.3).item() == 0.0
    # With margin 9.5: 1 - 10 + 9.5 = 0.5 per anchor.
    assert batch_hard_triplet_loss(feats, LABELS, margin=9.5).item() == pytest.approx(0.5)


def test_batch_hard_triplet_soft_margin() -> None:
    expected = sum(math.log1p(math.exp(ap - an)) for ap, an in HARD) / 4
    got = TripletLoss(soft_margin=True)(FEATS, LABELS)
    assert got.item() == pytest.approx(expected, abs=1e-9)


def test_anchor_without_positive_is_excluded_but_still_a_negative() -> None:
    # e (label 2) has no positive: it must not be an anchor; as a negative it is far away so changes nothing.
    feats = torch.cat([FEATS, torch.tensor([[100.0, 100.0]], dtype=torch.float64)])
    labels = torch.cat([LABELS, torch.tensor([2])])
    expected = sum(max(ap - an + 0.3, 0.0) for ap, an in HARD) / 4
    assert batch_hard_triplet_loss(feats, labels).item() == pytest.approx(expected, abs=1e-9)
    # ...and as a close negative it does count: put e at b's position, then b's hardest negative is at 0.
    feats[4] = FEATS[1]
    hard = list(HARD)
    hard[1] = (5.0, 0.0)
    expected = sum(max(ap - an + 0.3, 0.0) for ap, an in hard) / 4
    assert batch_hard_triplet_loss(feats, labels).item() == pytest.approx(expected, abs=1e-5)


def test_no_valid_anchor_gives_zero_with_graph() -> None:
    feats = torch.randn(3, 4, requires_grad=True)
    for labels in (torch.tensor([0, 1, 2]), torch.tensor([5, 5, 5])):  # no positives / no negatives
        loss = batch_hard_triplet_loss(feats, labels)
        assert loss.item() == 0.0
        loss.backward()
        assert feats.grad is not None and torch.all(feats.grad == 0)


def test_triplet_gradient_finite_with_duplicate_features() -> None:
    feats = torch.tensor([[1.0, 2.0], [1.0, 2.0], [3.0, 0.0], [3.0, 0.0]], requires_grad=True)
    loss = batch_hard_triplet_loss(feats, torch.tensor([0, 0, 1, 1]))
    loss.backward()
    assert torch.isfinite(feats.grad).all()


def test_triplet_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError):
        batch_hard_triplet_loss(torch.randn(4, 2), torch.tensor([0, 0, 1]))


def test_label_smoothing_cross_entropy_hand_formula() -> None:
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.0, 0.0, 3.0]], dtype=torch.float64)
    targets = torch.tensor([0, 1])
    eps, c = 0.1, 3
    expected = 0.0
    for row, t in zip(logits.tolist(), targets.tolist()):
        log_z = math.log(sum(math.exp(v) for v in row))
        log_p = [v - log_z for v in row]
        q = [(1 - eps) * (j == t) + eps / c for j in range(c)]
        expected += -sum(qj * lpj for qj, lpj in zip(q, log_p))
    expected /= 2
    assert cross_entropy_label_smoothing(logits, targets, eps).item() == pytest.approx(expected, abs=1e-12)
    # eps=0 is the plain negative log-likelihood.
    plain = -(torch.log_softmax(logits, 1)[[0, 1], [0, 1]]).mean().item()
    assert cross_entropy_label_smoothing(logits, targets, 0.0).item() == pytest.approx(plain)


def test_combined_loss_weights() -> None:
    logits = torch.tensor([[2.0, 0.0], [0.0, 2.0], [1.0, 1.0], [3.0, 0.0]], dtype=torch.float64)
    labels = torch.tensor([0, 0, 1, 1])
    outputs = {"logits": logits, "features": FEATS}
    parts = ReIDLoss(ReIDLossConfig(ce_weight=0.5, triplet_weight=2.0))(outputs, labels)
    ce = cross_entropy_label_smoothing(logits, labels, 0.1).item()
    tri = sum(max(ap - an + 0.3, 0.0) for ap, an in HARD) / 4
    assert parts["loss"].item() == pytest.approx(0.5 * ce + 2.0 * tri)
    assert parts["ce"].item() == pytest.approx(ce) and parts["triplet"].item() == pytest.approx(tri)
