"""Stop Re-ID training when learning stops (optional, `train.early_stop`; pure torch/numpy, no file I/O).

Some identities of the train split are held out of training (`holdout_split`); after an epoch the model's retrieval
mAP on their crops is fed to a `PlateauStop`, which says stop once the mAP has not improved for a while and keeps the
best epoch's weights, restored when training ends. Held out from the train split, never the val split: val is what a
run reports and the trackers are scored on, so picking the epoch on it would bias both. Whole identities, because a
model's retrieval on identities it was trained to classify says little about unseen people, which is what tracking
meets.

What it costs: the learning-rate schedule (warm-up, then cosine or step decay) is defined over the configured
`epochs`, so stopping truncates it: a stopped model never trained at the schedule's small final rates, and the
held-out identities are not trained on at all. Whether that buys time without losing val mAP is what
benchmarks/reid_early_stop.py measures.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from torch import Tensor, nn

MIN_HELD_OUT_IDS = 2  # with one identity every gallery crop is a positive: mAP 1 whatever the model
MIN_TRAIN_IDS = 2  # the classifier needs two classes and the triplet loss a negative


def holdout_split(labels: np.ndarray, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the crops to train on and of the held-out crops: `share` of the distinct `labels` (rounded), whole
    identities, drawn by a numpy RNG seeded with `seed`. ValueError when that leaves fewer than 2 identities on
    either side."""
    ids = np.unique(labels)
    held_count = int(share * len(ids) + 0.5)
    if held_count < MIN_HELD_OUT_IDS:
        raise ValueError(f"holding out {share:g} of {len(ids)} identities gives {held_count}; the held-out "
                         f"retrieval needs at least {MIN_HELD_OUT_IDS}")
    if len(ids) - held_count < MIN_TRAIN_IDS:
        raise ValueError(f"holding out {held_count} of {len(ids)} identities leaves {len(ids) - held_count} to "
                         f"train on; training needs at least {MIN_TRAIN_IDS}")
    held_ids = np.random.default_rng(seed).choice(ids, held_count, replace=False)
    held = np.isin(labels, held_ids)
    return np.flatnonzero(~held), np.flatnonzero(held)


def cpu_state(model: nn.Module) -> dict[str, Tensor]:
    """A CPU copy of the model's state: the weights go on changing in place, and on CUDA they would hold GPU memory."""
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


@dataclass
class PlateauStop:
    """The stopping rule, fed the held-out mAP after each evaluated epoch (`update`).

    An evaluation improves when its mAP beats the last improving one by more than `min_delta` (the first always does);
    training stops once at least `min_epochs` epochs are done and the last `patience` evaluations did not improve
    (evaluations before `min_epochs` count towards that, they only cannot end training). The weights kept are those
    of the highest mAP seen (the earliest on a tie), even when its gain was below `min_delta`: `min_delta` decides
    whether learning goes on, not which of two trained models is better.
    """

    min_epochs: int
    patience: int
    min_delta: float
    best: float = -math.inf  # highest mAP seen
    best_epoch: int = 0  # epochs trained when it was seen (0: nothing evaluated yet)
    best_state: dict[str, Tensor] | None = None
    evaluations: list[tuple[int, float]] = field(default_factory=list)  # (epochs trained, mAP) per evaluation
    reference: float = -math.inf  # mAP of the last improving evaluation
    stale: int = 0  # evaluations since then

    def __post_init__(self) -> None:
        if self.min_epochs < 1 or self.patience < 1 or not self.min_delta >= 0:
            raise ValueError(f"need min_epochs >= 1, patience >= 1, min_delta >= 0; got {self.min_epochs}, "
                             f"{self.patience}, {self.min_delta}")

    def update(self, epochs_done: int, mAP: float, model: nn.Module) -> bool:
        """Record the mAP after `epochs_done` epochs (the model's weights if it is the best yet); True: stop now."""
        if not math.isfinite(mAP):
            raise ValueError(f"held-out mAP after epoch {epochs_done} is {mAP}: no held-out query has a positive")
        self.evaluations.append((epochs_done, mAP))
        if mAP > self.best:
            self.best, self.best_epoch, self.best_state = mAP, epochs_done, cpu_state(model)
        if mAP > self.reference + self.min_delta:
            self.reference, self.stale = mAP, 0
        else:
            self.stale += 1
        return epochs_done >= self.min_epochs and self.stale >= self.patience

    def restore(self, model: nn.Module) -> None:
        """Load the best evaluated weights back into `model` (ValueError when nothing was evaluated)."""
        if self.best_state is None:
            raise ValueError("no epoch was evaluated: there are no best weights to restore")
        model.load_state_dict(self.best_state)


def epoch_end_hook(
    stop: PlateauStop, score: Callable[[nn.Module], float], every: int, epochs: int
) -> Callable[[int, nn.Module], bool]:
    """`train`'s `on_epoch_end`: after every `every`-th epoch and after the last of `epochs` (so that the final
    weights are never dropped unseen), `score(model)` in eval mode, then back to train mode, and ask `stop`."""

    def hook(epoch: int, model: nn.Module) -> bool:
        done = epoch + 1
        if done % every and done != epochs:
            return False
        model.eval()
        try:
            mAP = score(model)
        finally:
            model.train()
        return stop.update(done, mAP, model)

    return hook
