"""P×K identity sampler: every batch holds P identities with K crops each.

The batch-hard triplet loss needs positives and negatives inside each batch; a plain shuffle rarely puts two crops
of one identity together. An epoch visits every identity once (in a shuffled order, grouped P at a time); each
visit draws K of its crops without replacement, or with replacement when the identity has fewer than K crops.
The order depends only on (seed, epoch), drawn from the sampler's own numpy Generator, so runs reproduce and
do not disturb or depend on the global RNG state.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
from torch.utils.data import Sampler


class PKSampler(Sampler[list[int]]):
    """Batch sampler (pass as `DataLoader(batch_sampler=...)`) yielding lists of P*K dataset indices.

    labels: identity label of each dataset item (ints or strings). `len()` is the number of batches per epoch:
    by default `num_identities // P` (one pass over the shuffled identities; the last incomplete group is dropped
    so every batch is P×K). With `batches_per_epoch` set, each batch instead draws P distinct identities
    independently — useful when identities have many crops and one pass would make a very short epoch.
    Within a batch the indices are identity-major: K indices of the first identity, then K of the second, ...
    """

    def __init__(
        self,
        labels: Sequence[int] | Sequence[str] | np.ndarray,
        p: int,
        k: int,
        seed: int = 0,
        batches_per_epoch: int | None = None,
    ) -> None:
        if p < 1 or k < 1:
            raise ValueError(f"P and K must be >= 1, got P={p}, K={k}")
        if batches_per_epoch is not None and batches_per_epoch < 1:
            raise ValueError(f"batches_per_epoch must be >= 1, got {batches_per_epoch}")
        labels_arr = np.asarray(labels)
        if labels_arr.ndim != 1:
            raise ValueError("labels must be a 1-D sequence")
        ids, inverse = np.unique(labels_arr, return_inverse=True)
        if len(ids) < p:
            raise ValueError(f"P={p} identities per batch but the dataset has only {len(ids)}")
        order = np.argsort(inverse, kind="stable")
        counts = np.bincount(inverse, minlength=len(ids))
        self._members: list[np.ndarray] = np.split(order, np.cumsum(counts)[:-1])
        self.identities = ids
        self.p = p
        self.k = k
        self.seed = seed
        self.batches_per_epoch = batches_per_epoch
        self.epoch = 0

    @property
    def batch_size(self) -> int:
        return self.p * self.k

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        if self.batches_per_epoch is not None:
            return self.batches_per_epoch
        return len(self._members) // self.p

    def _identity_groups(self, rng: np.random.Generator) -> Iterator[np.ndarray]:
        n = len(self._members)
        if self.batches_per_epoch is not None:
            for _ in range(self.batches_per_epoch):
                yield rng.choice(n, size=self.p, replace=False)
            return
        id_order = rng.permutation(n)
        for b in range(len(self)):
            yield id_order[b * self.p : (b + 1) * self.p]

    def __iter__(self) -> Iterator[list[int]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        for group in self._identity_groups(rng):
            batch: list[int] = []
            for ident in group:
                members = self._members[ident]
                pick = rng.choice(members, size=self.k, replace=len(members) < self.k)
                batch.extend(int(i) for i in pick)
            yield batch


def _merge_singletons(batches: list[list[int]]) -> list[list[int]]:
    """Fold one-crop batches into a neighbour: BatchNorm cannot train on a batch of one, and a lone crop has no
    positive or negative for the triplet loss. The neighbour then holds batch_size + 1 crops at most."""
    if len(batches) < 2:
        return batches
    out: list[list[int]] = []
    for batch in batches:
        if len(batch) == 1 and out:
            out[-1].extend(batch)
        else:
            out.append(batch)
    if len(out[0]) == 1 and len(out) > 1:
        out[1] = out[0] + out[1]
        out.pop(0)
    return out


class SGSSampler(Sampler[list[int]]):
    """Shuffle-Group Sampling (FineTrack): batches made of whole groups of consecutive frames of one sequence.

    Why: a batch drawn from a few consecutive frames holds several crops of each identity present there (positives)
    and the people they are confused with in tracking — same scene, same moment (hard negatives), balancing
    positives and negatives as a tracker's association step sees them.

    Each sequence's distinct frame numbers are sorted and cut into runs of `group_frames` *present* frames (with a
    frame stride of 2, a group of 8 spans 16 frame numbers). A group larger than `batch_size` is split in frame
    order into chunks of `batch_size` crops (the last one smaller). Each epoch the order of these units is shuffled
    from (seed, epoch) and they are packed first-fit: in the shuffled order each unit joins the first batch opened
    so far that still has room for it, else opens a new batch (so the small tail chunks of split groups and small
    groups share batches instead of leaving many near-empty ones). Batches are yielded in the order they were
    opened. So batches hold ≤ batch_size crops (but see `_merge_singletons`), every crop appears exactly once per
    epoch, and the number of batches can differ slightly between epochs; `len()` is exact for the current epoch
    (after `set_epoch`).
    """

    def __init__(
        self,
        seqs: Sequence[str] | np.ndarray,
        frames: Sequence[int] | np.ndarray,
        labels: Sequence[int] | Sequence[str] | np.ndarray,
        batch_size: int,
        group_frames: int = 8,
        seed: int = 0,
    ) -> None:
        seqs_arr, frames_arr, labels_arr = np.asarray(seqs), np.asarray(frames), np.asarray(labels)
        n = len(labels_arr)
        if seqs_arr.shape != (n,) or frames_arr.shape != (n,):
            raise ValueError(f"seqs, frames and labels must be 1-D of one length, got "
                             f"{seqs_arr.shape}, {frames_arr.shape}, {labels_arr.shape}")
        if batch_size < 2:
            raise ValueError(f"batch_size must be >= 2, got {batch_size}")
        if group_frames < 1:
            raise ValueError(f"group_frames must be >= 1, got {group_frames}")
        self.batch_size = batch_size
        self.group_frames = group_frames
        self.seed = seed
        self.epoch = 0
        self._cache: tuple[int, list[list[int]]] | None = None
        self.groups: list[np.ndarray] = []  # crop indices per group, in frame order
        for seq in sorted(set(seqs_arr.tolist())):
            in_seq = np.flatnonzero(seqs_arr == seq)
            in_seq = in_seq[np.argsort(frames_arr[in_seq], kind="stable")]
            _, frame_rank = np.unique(frames_arr[in_seq], return_inverse=True)
            group_of = frame_rank // group_frames
            for g in range(int(group_of.max()) + 1 if len(in_seq) else 0):
                self.groups.append(in_seq[group_of == g])
        self.units: list[np.ndarray] = [
            group[i : i + batch_size] for group in self.groups for i in range(0, len(group), batch_size)
        ]

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _batches(self) -> list[list[int]]:
        if self._cache is not None and self._cache[0] == self.epoch:
            return self._cache[1]
        rng = np.random.default_rng([self.seed, self.epoch])
        smallest = min((len(u) for u in self.units), default=1)
        batches: list[list[int]] = []
        open_ids: list[int] = []  # batches that can still take the smallest unit, in opening order
        for u in rng.permutation(len(self.units)):
            unit = self.units[u]
            target = next((b for b in open_ids if len(batches[b]) + len(unit) <= self.batch_size), None)
            if target is None:
                target = len(batches)
                batches.append([])
                open_ids.append(target)
            batches[target].extend(int(i) for i in unit)
            if len(batches[target]) + smallest > self.batch_size:
                open_ids.remove(target)
        batches = _merge_singletons(batches)
        self._cache = (self.epoch, batches)
        return batches

    def __len__(self) -> int:
        return len(self._batches())

    def __iter__(self) -> Iterator[list[int]]:
        yield from (list(b) for b in self._batches())


class RandomBatchSampler(Sampler[list[int]]):
    """Uniformly random batches: each epoch is a permutation of 0..n-1 from (seed, epoch), cut into `batch_size`
    chunks (a final one-crop chunk is folded into the previous batch). The reference against SGS: batch
    composition ignores identities, sequences and frame order entirely."""

    def __init__(self, n: int, batch_size: int, seed: int = 0) -> None:
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        if batch_size < 2:
            raise ValueError(f"batch_size must be >= 2, got {batch_size}")
        self.n = n
        self.batch_size = batch_size
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        full, rest = divmod(self.n, self.batch_size)
        return full + (1 if rest > 1 or full == 0 else 0)

    def __iter__(self) -> Iterator[list[int]]:
        perm = np.random.default_rng([self.seed, self.epoch]).permutation(self.n)
        batches = [perm[i : i + self.batch_size].tolist() for i in range(0, self.n, self.batch_size)]
        yield from _merge_singletons(batches)
