"""The one input convention of every Re-ID model here: uint8 RGB crops → ImageNet mean/std normalised floats."""

from __future__ import annotations

import torch

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def normalise(crops: torch.Tensor) -> torch.Tensor:
    """uint8 (n, 3, h, w) → float32 (n, 3, h, w), on the crops' device."""
    mean = torch.tensor(IMAGENET_MEAN, device=crops.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=crops.device).view(1, 3, 1, 1)
    return (crops.float() / 255.0 - mean) / std
