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
