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

from bench.core.errors import BenchError


def read_frame(path: Path, expected: tuple[int, int] | None = None) -> np.ndarray:
    """An RGB frame as an (H, W, 3) uint8 array. A missing, truncated or unreadable image, or one whose size is not
    seqinfo.ini's `expected` (width, height), is an error naming the file: boxes are in seqinfo's pixel frame, so
    crops of another-sized image (or skipped frames) would silently change the appearance trackers' numbers."""
    try:
        with Image.open(path) as im:
            if expected is not None and im.size != tuple(expected):
                raise BenchError(
                    f"frame image is {im.size[0]}x{im.size[1]}, but seqinfo.ini says {expected[0]}x{expected[1]}",
                    path, hint="fix the image or imWidth/imHeight in the sequence's seqinfo.ini",
                )
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


def crop_frames(
    jobs: Sequence[tuple[Path, np.ndarray]],
    size: tuple[int, int],
    expected: tuple[int, int] | list[tuple[int, int]] | None = None,
) -> list[torch.Tensor]:
    """`crop_boxes(read_frame(path, expected), boxes, size)` for each (path, boxes) job, in order, frames in parallel
    threads; `expected` is the frames' (width, height) from seqinfo.ini (per job when given as a list).

    Decoding (PIL) and resizing (torch) release the GIL, so threads overlap them; every crop is computed exactly as
    in the serial loop, so the result does not depend on the number of threads.
    """
    workers = min(8, os.cpu_count() or 1, max(len(jobs), 1))
    sizes = expected if isinstance(expected, list) else [expected] * len(jobs)
    if workers == 1:
        return [crop_boxes(read_frame(path, wh), boxes, size) for (path, boxes), wh in zip(jobs, sizes)]
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda job, wh: crop_boxes(read_frame(job[0], wh), job[1], size), jobs, sizes))
