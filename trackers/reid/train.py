"""The Re-ID training loop: pure torch on in-memory uint8 crops (no file I/O here).

Deterministic under a seed on CPU: model init, sampling, augmentation and dropout all draw from generators seeded
from the `seed` argument. AdamW with linear warm-up, then cosine or step decay, per iteration.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import Sampler

from trackers.reid.preprocess import normalise

SCHEDULES = ("cosine", "step")


@dataclass
class TrainConfig:
    epochs: int = field(default=12, metadata={"range": "[1, inf)"})
    p: int = field(default=16, metadata={"range": "[1, inf)"})  # identities per batch
    k: int = field(default=4, metadata={"range": "[1, inf)"})  # crops per identity
    lr: float = field(default=1e-3, metadata={"range": "(0, inf)"})
    weight_decay: float = field(default=5e-4, metadata={"range": "[0, inf)"})
    warmup_epochs: float = field(default=1.0, metadata={"range": "[0, inf)"})
    # cosine | step (×0.1 at 50% and 80% of the iterations)
    schedule: str = field(default="cosine", metadata={"choices": SCHEDULES})
    label_smoothing: float = field(default=0.1, metadata={"range": "[0, 1)"})
    triplet_margin: float = field(default=0.3, metadata={"range": "[0, inf)"})
    # gt crops below this visibility are not trained on
    min_visibility: float = field(default=0.3, metadata={"range": "[0, 1]"})
    # take every n-th frame of the train sequences (adjacent frames are near duplicates)
    frame_stride: int = field(default=2, metadata={"range": "[1, inf)"})
    flip: bool = True  # random horizontal flip
    # random translation by up to this many pixels (pad + crop)
    pad_crop: int = field(default=4, metadata={"range": "[0, inf)"})
    # pk: P identities × K crops; sgs: shuffled groups of consecutive frames; random
    sampler: str = field(default="pk", metadata={"choices": ("pk", "sgs", "random")})
    group_frames: int = field(default=8, metadata={"range": "[1, inf)"})  # sgs: consecutive frames per group

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def lr_factor(cfg: TrainConfig, it: int, total: int, per_epoch: int) -> float:
    """Learning-rate multiplier at iteration `it` of `total`."""
    warm = int(cfg.warmup_epochs * per_epoch)
    if it < warm:
        return (it + 1) / warm
    progress = (it - warm) / max(total - warm, 1)
    if cfg.schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * progress))
    return 0.1 ** sum(progress >= m for m in (0.5, 0.8))


def augment(batch: Tensor, cfg: TrainConfig, gen: torch.Generator) -> Tensor:
    """Random flip and pad-crop on a uint8 batch (n, 3, h, w), drawing from `gen` only."""
    n, _, h, w = batch.shape
    if cfg.flip:
        flip = torch.rand(n, generator=gen) < 0.5
        batch = torch.where(flip.view(n, 1, 1, 1), batch.flip(3), batch)
    if cfg.pad_crop > 0:
        p = cfg.pad_crop
        padded = torch.nn.functional.pad(batch, (p, p, p, p))
        dx = torch.randint(0, 2 * p + 1, (n,), generator=gen)
        dy = torch.randint(0, 2 * p + 1, (n,), generator=gen)
        batch = torch.stack([padded[i, :, dy[i] : dy[i] + h, dx[i] : dx[i] + w] for i in range(n)])
    return batch


def train(
    model: nn.Module,
    crops: Tensor,
    labels: np.ndarray,
    cfg: TrainConfig,
    seed: int,
    sampler: Sampler[list[int]],
    loss_fn: nn.Module,
    device: str = "cpu",
    on_step: Callable[[int, int, dict[str, float]], None] | None = None,
) -> list[dict[str, float]]:
    """Train `model` in place on uint8 `crops` (N, 3, h, w) with integer `labels` (N,) in 0..C-1.

    `sampler` yields batches of indices (P×K, SGS or random); `loss_fn(output, labels)` returns a dict with
    "loss". Returns one dict of mean losses per epoch. `on_step(it, total, losses)` reports progress.
    """
    if cfg.schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {cfg.schedule!r}")
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model.to(device).train()
    optim = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    per_epoch = len(sampler)
    total = per_epoch * cfg.epochs
    labels_t = torch.as_tensor(labels, dtype=torch.long)
    history = []
    it = 0
    for epoch in range(cfg.epochs):
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch)
        sums: dict[str, float] = {}
        for batch_idx in sampler:
            idx = torch.as_tensor(batch_idx, dtype=torch.long)
            x = normalise(augment(crops[idx], cfg, gen).to(device))
            y = labels_t[idx].to(device)
            for group in optim.param_groups:
                group["lr"] = cfg.lr * lr_factor(cfg, it, total, per_epoch)
            losses = loss_fn(model(x), y)
            optim.zero_grad(set_to_none=True)
            losses["loss"].backward()
            optim.step()
            values = {k: float(v.detach()) for k, v in losses.items()}
            for k, v in values.items():
                sums[k] = sums.get(k, 0.0) + v
            it += 1
            if on_step:
                on_step(it, total, values)
        history.append({k: v / max(per_epoch, 1) for k, v in sums.items()})
    model.eval()
    return history
