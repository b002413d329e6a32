"""Crops of boxes from frames, resized to a Re-ID model's input, as uint8 tensors.

Crops stay uint8 until the batch reaches the model (`trackers.reid.preprocess.normalise`), so tens of thousands of crops fit in memory.
Boxes are clipped to the image; a box with no pixels inside the image gives an all-zero crop.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from bench.errors import BenchError


def read_frame(path: Path) -> np.ndarray:
    """An RGB frame as an (H, W, 3) uint8 array."""
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except FileNotFoundError:
        raise BenchError(
            "missing frame image", path, hint="the sequence's img1/ folder must hold every frame"
        ) from None
    except OSError as e:
        raise BenchError(f"unreadable frame image ({e})", path) from None


def crop_boxes(image: np.ndarray, boxes: np.ndarray, size: tuple[int, int]) -> torch.Tensor:
    """(n, 4) x1, y1, x2, y2 boxes of an (H, W, 3) image → (n, 3, h, w) uint8 crops (bilinear resize)."""
    h_img, w_img = image.shape[:2]
    out = torch.zeros((len(boxes), 3, *size), dtype=torch.uint8)
    frame = torch.from_numpy(np.array(image, copy=True)).permute(2, 0, 1)
    for i, (x1, y1, x2, y2) in enumerate(np.asarray(boxes, dtype=np.float64)):
        left, top = max(int(np.floor(x1)), 0), max(int(np.floor(y1)), 0)
        right, bottom = min(int(np.ceil(x2)), w_img), min(int(np.ceil(y2)), h_img)
        if right <= left or bottom <= top:
            continue
        patch = frame[:, top:bottom, left:right].unsqueeze(0).float()
        resized = F.interpolate(patch, size=size, mode="bilinear", align_corners=False, antialias=True)
        out[i] = resized[0].round().clamp(0, 255).to(torch.uint8)
    return out


def crop_frames(jobs: Sequence[tuple[Path, np.ndarray]], size: tuple[int, int]) -> list[torch.Tensor]:
    """`crop_boxes(read_frame(path), boxes, size)` for each (path, boxes) job, in order, frames in parallel threads.

    Decoding (PIL) and resizing (torch) release the GIL, so threads overlap them; every crop is computed exactly as
    in the serial loop, so the result does not depend on the number of threads.
    """
    workers = min(8, os.cpu_count() or 1, max(len(jobs), 1))
    if workers == 1:
        return [crop_boxes(read_frame(path), boxes, size) for path, boxes in jobs]
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda job: crop_boxes(read_frame(job[0]), job[1], size), jobs))
