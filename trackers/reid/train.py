"""The Re-ID training loop: pure torch on in-memory uint8 crops (no file I/O here).

Deterministic under a seed on CPU: model init, sampling, augmentation and dropout all draw from generators seeded
from the `seed` argument. AdamW with linear warm-up, then cosine or step decay, per iteration.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import Sampler

from trackers.reid.configs import PRECISIONS, SCHEDULES, TrainConfig
from trackers.reid.preprocess import normalise


def lr_factor(cfg: TrainConfig, it: int, total: int, per_epoch: int) -> float:
    """Learning-rate multiplier at iteration `it` of `total`."""
    warm = int(cfg.warmup_epochs * per_epoch)
    if it < warm:
        return (it + 1) / warm
    progress = (it - warm) / max(total - warm, 1)
    if cfg.schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * progress))
    return 0.1 ** sum(progress >= m for m in (0.5, 0.8))


def draw_augmentation(n: int, cfg: TrainConfig, gen: torch.Generator) -> list[Tensor]:
    """The random choices for a batch of n, drawn from the CPU generator `gen` in a fixed order (flip, then dx, dy):
    [flip (n,) 0/1] if cfg.flip, then [dx (n,), dy (n,)] if cfg.pad_crop > 0, all int64 on the CPU."""
    draws = []
    if cfg.flip:
        draws.append((torch.rand(n, generator=gen) < 0.5).long())
    if cfg.pad_crop > 0:
        draws.append(torch.randint(0, 2 * cfg.pad_crop + 1, (n,), generator=gen))
        draws.append(torch.randint(0, 2 * cfg.pad_crop + 1, (n,), generator=gen))
    return draws


def apply_augmentation(batch: Tensor, cfg: TrainConfig, draws: list[Tensor] | Tensor) -> Tensor:
    """Random flip and pad-crop of a uint8 batch (n, 3, h, w) with `draw_augmentation`'s choices. On an accelerator
    batched (no Python loop over the batch): the crop is two gathers from the zero-padded batch. On the CPU one
    strided copy per crop, into a channels_last batch (what the models train on): the same pixels, 6x faster than
    the gathers at batch 64."""
    draws = list(draws)
    flip = draws.pop(0) if cfg.flip else None
    augment = _augment_per_crop if batch.device.type == "cpu" else _augment_batched
    return augment(batch, cfg.pad_crop, flip, draws)


def _augment_batched(batch: Tensor, p: int, flip: Tensor | None, shifts: list[Tensor]) -> Tensor:
    """`apply_augmentation` on an accelerator: a flip by `torch.where`, the crop two gathers (rows, then columns)
    from the zero-padded batch."""
    n, c, h, w = batch.shape
    if flip is not None:
        batch = torch.where(flip.view(n, 1, 1, 1).bool(), batch.flip(3), batch)
    if p > 0:
        dx, dy = shifts
        padded = F.pad(batch, (p, p, p, p))
        rows = dy[:, None] + torch.arange(h, device=batch.device)  # (n, h) source rows
        cols = dx[:, None] + torch.arange(w, device=batch.device)  # (n, w) source columns
        padded = padded.gather(2, rows[:, None, :, None].expand(n, c, h, w + 2 * p))
        batch = padded.gather(3, cols[:, None, None, :].expand(n, c, h, w))
    return batch


def _augment_per_crop(batch: Tensor, p: int, flip: Tensor | None, shifts: list[Tensor]) -> Tensor:
    """`apply_augmentation` on the CPU: crop i is rows dy..dy+h and columns dx..dx+w of the padded crop, flipped
    first (padding is symmetric, so flipping the padded crop equals padding the flipped one)."""
    n, c, h, w = batch.shape
    if flip is None and p == 0:
        return batch
    padded = F.pad(batch, (p, p, p, p)) if p > 0 else batch
    flips = flip.tolist() if flip is not None else [0] * n
    dxs, dys = (shifts[0].tolist(), shifts[1].tolist()) if p > 0 else ([0] * n, [0] * n)
    out = torch.empty((n, c, h, w), dtype=batch.dtype, memory_format=torch.channels_last)
    for i, (f, x0, y0) in enumerate(zip(flips, dxs, dys)):
        rows = padded[i, :, y0:y0 + h]
        out[i] = (rows.flip(2) if f else rows)[:, :, x0:x0 + w]
    return out


def place_crops(crops: Tensor, device: torch.device) -> Tensor:
    """Where the uint8 crops live during training: on the GPU when they take under half its free memory (one
    upload, no per-step copies), else in pinned host memory (asynchronous per-batch copies); as given on CPU."""
    if device.type != "cuda":
        return crops.to(device)
    free, _ = torch.cuda.mem_get_info(device)
    return crops.to(device) if crops.nbytes < free // 2 else crops.pin_memory()


def _to_device(t: Tensor, device: torch.device) -> Tensor:
    """Host → CUDA without blocking the host (pinned staging); a no-op move elsewhere."""
    if device.type == "cuda" and t.device.type == "cpu":
        return t.pin_memory().to(device, non_blocking=True)
    return t.to(device)


def cpu_computes_bf16() -> bool:
    """Whether this CPU has bf16 arithmetic (AVX512-BF16 or AMX). There oneDNN runs bf16 convolutions natively
    (training ~1.3-1.4x the fp32 rate on a 2-core Zen 4, benchmarks/train_throughput.py); elsewhere it emulates
    them, slower than fp32."""
    return any(getattr(torch.cpu, probe, lambda: False)() for probe in ("_is_avx512_bf16_supported",
                                                                        "_is_amx_tile_supported"))


def training_precision(setting: str, device: str | torch.device) -> str:
    """`train.precision` resolved for `device`: "auto" is "bf16" where the device computes bf16 itself (CUDA, a
    CPU with AVX512-BF16 or AMX) and "fp32" elsewhere; "fp32" and "bf16" are taken as given."""
    if setting not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {setting!r}")
    if setting != "auto":
        return setting
    return "bf16" if computes_bf16(device) else "fp32"


def computes_bf16(device: str | torch.device) -> bool:
    """Whether `device` computes bf16 itself (CUDA, a CPU with AVX512-BF16 or AMX): where bf16 autocast pays."""
    kind = torch.device(device).type
    return kind == "cuda" or (kind == "cpu" and cpu_computes_bf16())


def _float_outputs(out: Tensor | dict[str, Tensor]) -> Tensor | dict[str, Tensor]:
    """bf16 autocast outputs → float32 so the losses (distances, softmax) run in full precision."""
    return {k: v.float() for k, v in out.items()} if isinstance(out, dict) else out.float()


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
    on_epoch_end: Callable[[int, nn.Module], bool] | None = None,
) -> list[dict[str, float]]:
    """Train `model` in place on uint8 `crops` (N, 3, h, w) with integer `labels` (N,) in 0..C-1.

    `sampler` yields batches of indices (P×K, SGS or random); `loss_fn(output, labels)` returns a dict with
    "loss". Returns one dict of mean losses per epoch. `on_step(it, total, losses)` reports progress: on the CPU
    with this step's losses, elsewhere with the previous epoch's means (NaN in the first epoch), so that the loop
    never waits for the device (losses are summed on the device and read once per epoch).

    `on_epoch_end(epoch, model)` runs after each epoch (0-based) and ends training when it returns True (early
    stopping: `trackers.reid.early_stop`); the history then has fewer entries than `cfg.epochs`. The learning-rate
    schedule stays the one over `cfg.epochs` either way. The model is put back in train mode after the hook, which
    may evaluate it.

    On CUDA the crops are uploaded once (`place_crops`), augmented batched on the device, and AdamW is fused.
    `cfg.precision` (`training_precision`: bf16 on CUDA and on CPUs with bf16 arithmetic by default) picks bf16
    autocast, the losses computed in fp32. The model trains in channels_last. On the CPU in fp32 the weights and
    losses are bit-identical to the per-sample reference loop.
    """
    if cfg.schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {cfg.schedule!r}")
    dev = torch.device(device)
    mixed = training_precision(cfg.precision, dev) == "bf16"
    live = dev.type == "cpu"  # reading a loss is free on the CPU; on a GPU it would stall the queue every step
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    # NHWC weights: oneDNN's CPU convolutions and cuDNN's bf16 ones are fastest in channels_last (the CPU ResNet
    # makes its input NHWC itself, `ResNet.forward_stages`); the layout is put back at the end.
    nhwc = mixed or dev.type == "cpu"
    if nhwc:
        model.to(device=dev, memory_format=torch.channels_last).train()
    else:
        model.to(dev).train()
    # CUDA: fused; CPU: the multi-tensor (foreach) AdamW, bit-identical to the per-parameter loop and ~30% quicker
    # (1.3-1.8 ms a step for these models; the CPU's fused AdamW is quicker still but rounds differently)
    kind = {"fused": True} if dev.type == "cuda" else {"foreach": True}
    optim = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, **kind)
    per_epoch = len(sampler)
    total = per_epoch * cfg.epochs
    store = place_crops(crops, dev)
    labels_t = torch.as_tensor(labels, dtype=torch.long).to(dev)
    history: list[dict[str, float]] = []
    shown: dict[str, float] = {}  # what on_step reports off the CPU: the last epoch's means (NaN before)
    it = 0
    for epoch in range(cfg.epochs):
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch)
        sums: dict[str, Tensor] = {}  # float64, on the device: read once per epoch
        for batch_idx in sampler:
            idx = torch.as_tensor(batch_idx, dtype=torch.long)
            # Indices and random choices travel to the device together, in one asynchronous copy.
            plan = _to_device(torch.stack([idx, *draw_augmentation(len(idx), cfg, gen)]), dev)
            raw = store[plan[0]] if store.device.type == dev.type else _to_device(store[idx], dev)
            x = normalise(apply_augmentation(raw, cfg, plan[1:]))
            y = labels_t[plan[0]]
            for group in optim.param_groups:
                group["lr"] = cfg.lr * lr_factor(cfg, it, total, per_epoch)
            if mixed:
                with torch.autocast(dev.type, dtype=torch.bfloat16):
                    out = model(x.contiguous(memory_format=torch.channels_last))
                losses = loss_fn(_float_outputs(out), y)
            else:
                losses = loss_fn(model(x), y)
            optim.zero_grad(set_to_none=True)
            losses["loss"].backward()
            optim.step()
            for k, v in losses.items():
                v = v.detach().double()
                sums[k] = sums[k] + v if k in sums else v
            it += 1
            if on_step:
                if live:
                    on_step(it, total, {k: float(v.detach()) for k, v in losses.items()})
                else:
                    on_step(it, total, shown or {k: math.nan for k in losses})
        means = torch.stack(list(sums.values())).div(max(per_epoch, 1)).tolist() if sums else []
        history.append(dict(zip(sums, means)))
        shown = history[-1]
        if on_epoch_end is not None:
            if on_epoch_end(epoch, model):
                break
            model.train()
    if nhwc:
        model.to(memory_format=torch.contiguous_format)
    model.eval()
    return history
