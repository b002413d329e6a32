"""The one input convention of every Re-ID model here: uint8 RGB crops → ImageNet mean/std normalised floats."""

from __future__ import annotations

from functools import lru_cache

import torch

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@lru_cache(maxsize=8)
def _mean_std(device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Built once per device: creating them per batch is a host→device copy (and a sync) every step on CUDA."""
    with torch.inference_mode(False):  # normal tensors even when first built under inference_mode
        mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1)
    return mean, std


def normalise(crops: torch.Tensor) -> torch.Tensor:
    """uint8 (n, 3, h, w) → float32 (n, 3, h, w), on the crops' device."""
    mean, std = _mean_std(crops.device)
    return (crops.float() / 255.0 - mean) / std
