"""SGSSampler (shuffle-group sampling) and RandomBatchSampler: coverage, group structure, positives, per-epoch
shuffling, determinism, and independence from storage order / frame order."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from trackers.reid.samplers import RandomBatchSampler, SGSSampler

PER_FRAME = 5


def _metadata(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two sequences sampled every 2nd frame (A: 40 frames, B: 30), 5 people per frame from a drifting cast
    (identity of slot s at frame rank r: s + r // 6, so people persist ~6 sampled frames), stored shuffled."""
    seqs, frames, labels = [], [], []
    for name, n_frames, offset in (("A", 40, 0), ("B", 30, 1000)):
        for rank in range(n_frames):
            for slot in range(PER_FRAME):
                seqs.append(name)
                frames.append(1 + 2 * rank)
                labels.append(offset + slot + rank // 6)
    order = np.random.default_rng(seed).permutation(len(seqs))
    return np.array(seqs)[order], np.array(frames)[order], np.array(labels)[order]


SEQS, FRAMES, LABELS = _metadata()
N = len(LABELS)  # 350


def _group_ids(group_frames: int) -> np.ndarray:
    """Independent reference grouping: frame rank within the sequence (frames are 1, 3, 5, ...) // group_frames."""
    return np.array([f"{s}{((f - 1) // 2) // group_frames}" for s, f in zip(SEQS, FRAMES)])


def _epoch(sampler: SGSSampler | RandomBatchSampler, epoch: int) -> list[list[int]]:
    sampler.set_epoch(epoch)
    return [list(b) for b in sampler]


@pytest.mark.parametrize("epoch", [0, 1, 5])
def test_sgs_covers_every_crop_once_and_len_matches(epoch: int) -> None:
    sampler = SGSSampler(SEQS, FRAMES, LABELS, batch_size=32, group_frames=4, seed=0)
    batches = _epoch(sampler, epoch)
    assert len(sampler) == len(batches)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(N))
    assert all(2 <= len(b) <= 32 for b in batches)


def test_sgs_batches_are_made_of_whole_groups_with_positives() -> None:
    gf = 4  # 4 frames x 5 people = 20 crops per group <= batch_size
    groups = _group_ids(gf)
    sizes = Counter(groups.tolist())
    sampler = SGSSampler(SEQS, FRAMES, LABELS, batch_size=32, group_frames=gf, seed=3)
    batches = _epoch(sampler, 0)
    for batch in batches:
        inside = Counter(groups[batch].tolist())
        for g, count in inside.items():
            assert count == sizes[g], f"group {g} split across batches"
    with_positive = [max(Counter(LABELS[b].tolist()).values()) >= 2 for b in batches]
    assert np.mean(with_positive) >= 0.9  # in fact every batch: a group holds each person ~4 times


def test_sgs_splits_large_groups_in_frame_order() -> None:
    gf, bs = 8, 16  # 8 frames x 5 = 40 crops -> chunks of 16, 16, 8
    groups = _group_ids(gf)
    sampler = SGSSampler(SEQS, FRAMES, LABELS, batch_size=bs, group_frames=gf, seed=1)
    batches = _epoch(sampler, 0)
    assert sorted(i for b in batches for i in b) == list(range(N))
    assert all(len(b) <= bs for b in batches)
    for g in np.unique(groups):
        members = np.flatnonzero(groups == g)
        frame_order = members[np.lexsort((members, FRAMES[members]))]  # by frame, then storage index
        chunks = sorted(([i for i in b if groups[i] == g] for b in batches), key=lambda c: -len(c))
        chunks = [c for c in chunks if c]
        expected = [frame_order[j : j + bs].tolist() for j in range(0, len(members), bs)]
        assert sorted(map(sorted, chunks)) == sorted(map(sorted, expected))
        # chunk boundaries follow frame order: all frames of an earlier chunk precede those of a later one
        by_start = sorted(expected, key=lambda c: FRAMES[c[0]])
        for a, b in zip(by_start, by_start[1:]):
            assert FRAMES[a].max() <= FRAMES[b].min()


def test_sgs_shuffles_groups_per_epoch_and_is_deterministic() -> None:
    groups = _group_ids(4)

    def group_order(batches: list[list[int]]) -> list[str]:
        seen: list[str] = []
        for b in batches:
            for i in b:
                if groups[i] not in seen:
                    seen.append(groups[i])
        return seen

    a = SGSSampler(SEQS, FRAMES, LABELS, batch_size=32, group_frames=4, seed=7)
    b = SGSSampler(SEQS, FRAMES, LABELS, batch_size=32, group_frames=4, seed=7)
    e0, e1 = _epoch(a, 0), _epoch(a, 1)
    assert group_order(e0) != group_order(e1)
    assert sorted(group_order(e0)) == sorted(group_order(e1))
    assert _epoch(b, 1) == e1 and _epoch(b, 0) == e0  # same (seed, epoch) -> same batches, any call order
    other = SGSSampler(SEQS, FRAMES, LABELS, batch_size=32, group_frames=4, seed=8)
    assert _epoch(other, 0) != e0
    assert group_order(e0) != sorted(group_order(e0))  # not simply frame order


def test_sgs_depends_on_metadata_not_storage_order() -> None:
    # Reordering the crops (with their metadata) yields the same batches, mapped through the reordering.
    perm = np.random.default_rng(11).permutation(N)
    a = SGSSampler(SEQS, FRAMES, LABELS, batch_size=32, group_frames=4, seed=2)
    b = SGSSampler(SEQS[perm], FRAMES[perm], LABELS[perm], batch_size=32, group_frames=4, seed=2)
    for epoch in (0, 3):
        mapped = [sorted(perm[i] for i in batch) for batch in _epoch(b, epoch)]
        assert mapped == [sorted(batch) for batch in _epoch(a, epoch)]


def test_sgs_never_yields_single_crop_batches() -> None:
    # A lone crop in its own sequence would otherwise become a batch of one (BatchNorm cannot train on it).
    seqs = np.array(["A"] * 20 + ["B"])
    frames = np.array(list(range(1, 21)) + [1])
    labels = np.arange(21) % 4
    sampler = SGSSampler(seqs, frames, labels, batch_size=10, group_frames=10, seed=0)
    for epoch in range(5):
        batches = _epoch(sampler, epoch)
        assert sorted(i for b in batches for i in b) == list(range(21))
        assert min(len(b) for b in batches) >= 2
        assert max(len(b) for b in batches) <= 11


def test_sgs_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="one length"):
        SGSSampler(SEQS[:-1], FRAMES, LABELS, batch_size=8)
    with pytest.raises(ValueError, match="batch_size"):
        SGSSampler(SEQS, FRAMES, LABELS, batch_size=1)
    with pytest.raises(ValueError, match="group_frames"):
        SGSSampler(SEQS, FRAMES, LABELS, batch_size=8, group_frames=0)


def test_random_sampler_is_a_permutation_per_epoch() -> None:
    sampler = RandomBatchSampler(N, batch_size=32, seed=0)
    assert len(sampler) == 11  # 350 = 10 * 32 + 30
    e0 = _epoch(sampler, 0)
    assert len(e0) == len(sampler)
    assert sorted(i for b in e0 for i in b) == list(range(N))
    assert [len(b) for b in e0] == [32] * 10 + [30]
    assert e0 != _epoch(sampler, 1)
    assert _epoch(RandomBatchSampler(N, 32, seed=0), 0) == e0
    assert _epoch(RandomBatchSampler(N, 32, seed=1), 0) != e0
    tail = RandomBatchSampler(65, batch_size=32)  # 32 + 32 + 1 -> the lone crop joins the last batch
    assert len(tail) == 2 and [len(b) for b in _epoch(tail, 0)] == [32, 33]


def _same_frame_pairs(batches: list[list[int]]) -> int:
    total = 0
    for b in batches:
        counts = Counter(zip(SEQS[b].tolist(), FRAMES[b].tolist())).values()
        total += sum(c * (c - 1) // 2 for c in counts)
    return total


def test_random_batches_ignore_frame_order_sgs_batches_do_not() -> None:
    """Random batches put two crops of one frame together only as often as chance does.

    For a uniform permutation, two given distinct crops share a batch of size b with probability (b-1)/(n-1), so
    the expected number of same-frame pairs per epoch is P_frame_pairs * Σ_batches C(b,2) / C(n,2), where
    P_frame_pairs = Σ_frames C(c_f, 2). Over 20 epochs the observed count must be within 20% of that (the s.d. is
    about 3%); SGS batches, built from consecutive frames, hold every same-frame pair (700 per epoch).
    """
    frame_pairs = sum(c * (c - 1) // 2 for c in Counter(zip(SEQS.tolist(), FRAMES.tolist())).values())
    assert frame_pairs == 70 * 10
    sampler = RandomBatchSampler(N, batch_size=32, seed=5)
    epochs = [_epoch(sampler, e) for e in range(20)]
    observed = sum(_same_frame_pairs(b) for b in epochs)
    batch_pairs = sum(len(b) * (len(b) - 1) // 2 for b in epochs[0])
    expected = 20 * frame_pairs * batch_pairs / (N * (N - 1) / 2)
    assert abs(observed - expected) < 0.2 * expected, (observed, expected)
    sgs = SGSSampler(SEQS, FRAMES, LABELS, batch_size=32, group_frames=4, seed=5)
    assert _same_frame_pairs(_epoch(sgs, 0)) == frame_pairs


def test_sgs_on_real_ground_truth_has_more_positives_than_random(mot_data) -> None:  # type: ignore[no-untyped-def]
    from bench.data.mot_io import read_gt

    seqs, frames, ids = [], [], []
    for name in ("TUD-Campus", "TUD-Stadtmitte"):
        gt = read_gt(mot_data / "motmetrics-tud" / name / "gt.txt")
        seqs += [name] * len(gt)
        frames += gt[:, 0].astype(int).tolist()
        ids += [f"{name}:{int(i)}" for i in gt[:, 1]]
    labels = np.unique(ids, return_inverse=True)[1]
    seqs_a, frames_a = np.array(seqs), np.array(frames)

    def positives(batches: list[list[int]]) -> float:
        """Mean over batches of (crops - distinct identities): how many same-identity partners a batch holds."""
        return float(np.mean([len(b) - len(set(labels[b].tolist())) for b in batches]))

    sgs = SGSSampler(seqs_a, frames_a, labels, batch_size=32, group_frames=8, seed=0)
    rnd = RandomBatchSampler(len(labels), batch_size=32, seed=0)
    sgs_batches, rnd_batches = _epoch(sgs, 0), _epoch(rnd, 0)
    assert sorted(i for b in sgs_batches for i in b) == list(range(len(labels)))
    assert all(max(Counter(labels[b].tolist()).values()) >= 2 for b in sgs_batches)
    assert positives(sgs_batches) > positives(rnd_batches)
