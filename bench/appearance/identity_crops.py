"""Identity crops from a suite's ground truth: the Re-ID training set (train split) and retrieval test set (val)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from pathlib import Path

import numpy as np
import torch

from bench.appearance.crops import crop_frames
from bench.data.mot_io import read_gt
from bench.data.suites import Sequence


@dataclass
class CropSet:
    crops: torch.Tensor  # (N, 3, h, w) uint8
    ids: np.ndarray  # (N,) "<seq>:<id>" identity keys (MOT ids are only unique within a sequence)
    labels: np.ndarray  # (N,) contiguous class index of ids, 0..C-1
    seqs: np.ndarray  # (N,) sequence name
    frames: np.ndarray  # (N,) frame number
    visibility: np.ndarray  # (N,)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def num_classes(self) -> int:
        return int(self.labels.max()) + 1 if len(self.labels) else 0


def gt_boxes(seq: Sequence, min_visibility: float, frame_stride: int) -> np.ndarray:
    """Pedestrian gt rows (frame, id, x, y, w, h, conf, class, vis) that are usable as Re-ID samples.

    MOT17-style gt: conf 1 and class 1 (pedestrian) only; MOT15-style gt (class -1, no visibility) counts as visible.
    """
    gt = read_gt(seq.gt_path)
    if len(gt) == 0:
        return gt
    mot17_style = (gt[:, 7] >= 1).any()
    keep = (gt[:, 0] - 1) % frame_stride == 0
    if mot17_style:
        keep &= (gt[:, 6] != 0) & (gt[:, 7] == 1) & (gt[:, 8] >= min_visibility)
    return gt[keep]


def gt_crops(seqs: list[Sequence], input_size: tuple[int, int], min_visibility: float, frame_stride: int) -> CropSet:
    jobs, sizes, ids, seq_names, frames, vis = [], [], [], [], [], []
    for seq in seqs:
        gt = gt_boxes(seq, min_visibility, frame_stride)
        for frame in np.unique(gt[:, 0]).astype(int):
            rows = gt[gt[:, 0] == frame]
            boxes = np.column_stack([rows[:, 2], rows[:, 3], rows[:, 2] + rows[:, 4], rows[:, 3] + rows[:, 5]])
            jobs.append((seq.image_path(frame), boxes))
            sizes.append((seq.info.width, seq.info.height))
            ids += [f"{seq.name}:{int(i)}" for i in rows[:, 1]]
            seq_names += [seq.name] * len(rows)
            frames.append(rows[:, 0].astype(np.int64))
            vis.append(np.where(rows[:, 8] < 0, 1.0, rows[:, 8]))
    crops = crop_frames(jobs, input_size, sizes)  # each frame decoded once, frames in parallel threads
    ids_arr = np.asarray(ids, dtype=object)
    _, labels = np.unique(ids_arr.astype(str), return_inverse=True) if len(ids) else (None, np.zeros(0, np.int64))
    return CropSet(
        crops=torch.cat(crops) if crops else torch.zeros((0, 3, *input_size), dtype=torch.uint8),
        ids=ids_arr.astype(str),
        labels=np.asarray(labels, dtype=np.int64),
        seqs=np.asarray(seq_names, dtype=str),
        frames=np.concatenate(frames) if frames else np.zeros(0, np.int64),
        visibility=np.concatenate(vis) if vis else np.zeros(0),
    )


RECENT_SETS = 2  # one training's train and val sets
_recent: OrderedDict[tuple, CropSet] = OrderedDict()


def _state(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return str(path), st.st_size, st.st_mtime_ns


def reused_gt_crops(seqs: list[Sequence], input_size: tuple[int, int], min_visibility: float, frame_stride: int
                    ) -> CropSet:
    """`gt_crops`, remembered in this process for the last two requests: a run trains two models and an ablation
    one per (variant, seed), all on the same train crops and evaluated on the same val crops, and decoding them again
    took 10–40 s per training. The key holds each sequence's gt file and image folder (path, size, mtime), so an
    edited gt or a regenerated suite is read again. The result is shared: callers must not modify it."""
    key = (tuple(input_size), float(min_visibility), int(frame_stride),
           tuple((_state(s.gt_path), _state(s.path / s.info.im_dir)) for s in seqs))
    if key in _recent:
        _recent.move_to_end(key)
        return _recent[key]
    data = gt_crops(seqs, input_size, min_visibility, frame_stride)
    _recent[key] = data
    while len(_recent) > RECENT_SETS:
        _recent.popitem(last=False)
    return data
