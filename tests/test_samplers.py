"""PKSampler batch composition and determinism."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from trackers.reid.samplers import PKSampler

# 7 identities with 1..7 crops each, labels interleaved so members are not contiguous.
COUNTS = {10: 1, 11: 2, 12: 3, 13: 4, 14: 5, 15: 6, 16: 7}
LABELS = np.array([lab for lab, n in COUNTS.items() for _ in range(n)])
LABELS = LABELS[np.random.default_rng(123).permutation(len(LABELS))]


def _batches(sampler: PKSampler) -> list[list[int]]:
    return [list(b) for b in sampler]


def test_pk_batch_composition() -> None:
    p, k = 3, 4
    sampler = PKSampler(LABELS, p=p, k=k, seed=0)
    batches = _batches(sampler)
    assert len(batches) == len(sampler) == 7 // 3
    seen_ids: list[int] = []
    for batch in batches:
        assert len(batch) == p * k
        labs = LABELS[batch]
        counts = Counter(labs.tolist())
        assert len(counts) == p and set(counts.values()) == {k}
        # identity-major layout: each consecutive run of K indices has one label
        assert all(len(set(labs[i * k : (i + 1) * k])) == 1 for i in range(p))
        for lab in counts:
            members = [i for i in batch if LABELS[i] == lab]
            if COUNTS[lab] >= k:
                assert len(set(members)) == k  # without replacement when there are enough crops
            else:
                assert set(members) <= set(np.flatnonzero(LABELS == lab).tolist())
        seen_ids.extend(counts)
    assert len(seen_ids) == len(set(seen_ids))  # one pass: no identity twice in an epoch


def test_identities_with_few_crops_are_sampled_with_replacement() -> None:
    labels = np.array([0, 1, 1, 1, 1])
    sampler = PKSampler(labels, p=2, k=4, seed=3)
    (batch,) = _batches(sampler)
    assert Counter(labels[batch].tolist()) == {0: 4, 1: 4}
    assert [i for i in batch if labels[i] == 0] == [0, 0, 0, 0]
    assert sorted(i for i in batch if labels[i] == 1) == [1, 2, 3, 4]


def test_deterministic_under_seed_and_changes_with_epoch() -> None:
    a, b = PKSampler(LABELS, 2, 3, seed=7), PKSampler(LABELS, 2, 3, seed=7)
    torch.manual_seed(0)
    first = _batches(a)
    torch.manual_seed(999)  # global RNG state must not matter
    np.random.seed(5)
    assert _batches(b) == first
    assert _batches(a) == first  # re-iterating the same epoch replays it
    a.set_epoch(1)
    epoch1 = _batches(a)
    assert epoch1 != first
    b.set_epoch(1)
    assert _batches(b) == epoch1
    assert _batches(PKSampler(LABELS, 2, 3, seed=8)) != first


def test_string_labels_and_fixed_batches_per_epoch() -> None:
    labels = ["x", "y", "z", "x", "y", "z", "w"]
    sampler = PKSampler(labels, p=3, k=2, seed=0, batches_per_epoch=5)
    batches = _batches(sampler)
    assert len(batches) == len(sampler) == 5
    for batch in batches:
        counts = Counter(labels[i] for i in batch)
        assert len(counts) == 3 and set(counts.values()) == {2}


def test_works_as_dataloader_batch_sampler() -> None:
    ds = TensorDataset(torch.arange(len(LABELS)), torch.as_tensor(LABELS))
    sampler = PKSampler(LABELS, p=2, k=2, seed=1)
    loader = DataLoader(ds, batch_sampler=sampler)
    got = [(idx.tolist(), lab.tolist()) for idx, lab in loader]
    assert len(got) == len(sampler) == 3
    for (idx, lab), batch in zip(got, _batches(sampler)):
        assert idx == batch and lab == LABELS[batch].tolist()


def test_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="only 7"):
        PKSampler(LABELS, p=8, k=2)
    with pytest.raises(ValueError):
        PKSampler(LABELS, p=0, k=2)
    with pytest.raises(ValueError):
        PKSampler(LABELS, p=2, k=2, batches_per_epoch=0)
