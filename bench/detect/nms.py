"""Non-maximum suppression in plain torch, and a torchvision stand-in so that YOLOX can be imported without it.

Why this exists: `yolox` (0.3.0) imports `torchvision` at module level (`yolox/utils/boxes.py`), but only ever
uses `torchvision.ops.nms` and `torchvision.ops.batched_nms`. torchvision wheels must match the torch build exactly,
and in this project's environment there is none that works. `install_torchvision_stand_in()` therefore registers,
ONLY when `import torchvision` fails, a tiny module named `torchvision` that provides exactly those two functions
(implemented here) and raises a clear error for anything else. A working torchvision is never replaced.

Semantics follow torchvision: boxes are (x1, y1, x2, y2) with area (x2 - x1) * (y2 - y1) (no "+1" pixel
convention); a box is suppressed when its IoU with a kept, higher-scoring box is strictly greater than the threshold;
the returned int64 indices are sorted by decreasing score. Equal scores keep their input order (a stable sort;
torchvision does not promise any order for ties).
"""

from __future__ import annotations

import sys
import types
import warnings

import torch

# Boxes are processed in score order in tiles of this many: the IoU work is (tile x kept) + (tile x tile), so the
# memory stays bounded however many candidates a frame has (a trained YOLOX-X at conf 0.01 gives thousands).
_TILE = 1024

STAND_IN_MARKER = "__bench_nms_stand_in__"


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(N, M) IoU of x1y1x2y2 boxes; 0/0 (two empty boxes) gives NaN, which never exceeds a threshold."""
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    lt = torch.maximum(a[:, None, :2], b[None, :, :2])
    rb = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    return inter / (area_a[:, None] + area_b[None, :] - inter)


def _greedy_within(overlaps: torch.Tensor) -> torch.Tensor:
    """Greedy NMS of boxes already in score order, given `overlaps[i, j]` = IoU > threshold.

    Iterates keep_j = not any_{i<j}(keep_i and overlaps[i, j]) from "keep all" until it stops changing
    (the Cluster-NMS fixed point, which equals the sequential greedy result); each round is one mat-vec, and the
    number of rounds is bounded by the longest chain of suppressions, usually a handful.
    """
    n = overlaps.shape[0]
    upper = torch.triu(overlaps, diagonal=1).to(torch.float32)
    keep = torch.ones(n, dtype=torch.bool, device=overlaps.device)
    for _ in range(n + 1):
        new_keep = (keep.to(torch.float32) @ upper) == 0
        if torch.equal(new_keep, keep):
            break
        keep = new_keep
    return keep


def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Indices (int64) of the boxes kept by greedy NMS, sorted by decreasing score (torchvision.ops.nms)."""
    if boxes.dim() != 2 or boxes.shape[-1] != 4 or scores.dim() != 1 or scores.shape[0] != boxes.shape[0]:
        raise ValueError(f"nms expects boxes (N, 4) and scores (N,), got {tuple(boxes.shape)} and {tuple(scores.shape)}")
    if boxes.shape[0] == 0:
        return torch.empty(0, dtype=torch.int64, device=boxes.device)
    order = torch.sort(scores, descending=True, stable=True).indices
    # IoU in at least float32: fp16 boxes (YOLOX on CUDA with fp16) would lose precision in the areas.
    sorted_boxes = boxes[order].to(torch.promote_types(boxes.dtype, torch.float32))
    kept_parts: list[torch.Tensor] = []
    kept_boxes = sorted_boxes[:0]
    for start in range(0, sorted_boxes.shape[0], _TILE):
        tile = sorted_boxes[start:start + _TILE]
        alive = torch.ones(tile.shape[0], dtype=torch.bool, device=tile.device)
        if kept_boxes.shape[0]:
            alive = ~(box_iou(tile, kept_boxes) > iou_threshold).any(dim=1)
        idx = torch.nonzero(alive).flatten()
        if idx.numel() == 0:
            continue
        cand = tile[idx]
        keep = _greedy_within(box_iou(cand, cand) > iou_threshold)
        kept_parts.append(idx[keep] + start)
        kept_boxes = torch.cat([kept_boxes, cand[keep]])
    if not kept_parts:
        return torch.empty(0, dtype=torch.int64, device=boxes.device)
    return order[torch.cat(kept_parts)]


def batched_nms(boxes: torch.Tensor, scores: torch.Tensor, idxs: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """NMS run separately per category `idxs` (boxes of different categories never suppress each other);
    indices sorted by decreasing score, as torchvision.ops.batched_nms."""
    if boxes.shape[0] == 0:
        return torch.empty(0, dtype=torch.int64, device=boxes.device)
    keep_mask = torch.zeros(boxes.shape[0], dtype=torch.bool, device=boxes.device)
    for cat in torch.unique(idxs):
        members = torch.nonzero(idxs == cat).flatten()
        keep_mask[members[nms(boxes[members], scores[members], iou_threshold)]] = True
    kept = torch.nonzero(keep_mask).flatten()
    return kept[torch.sort(scores[kept], descending=True, stable=True).indices]


def _stand_in_getattr(module_name: str):
    def __getattr__(attr: str):  # noqa: N807 - module-level __getattr__ (PEP 562)
        raise AttributeError(
            f"{module_name}.{attr} is unavailable: torchvision is not installed (or does not import), and bench "
            f"registered a stand-in that provides only torchvision.ops.nms and torchvision.ops.batched_nms for YOLOX"
        )
    return __getattr__


def install_torchvision_stand_in() -> bool:
    """Make `import torchvision` succeed for YOLOX: register the NMS-only stand-in if (and only if) the real
    torchvision does not import. Returns True when the stand-in is (now or already) in place."""
    existing = sys.modules.get("torchvision")
    if existing is not None:
        return bool(getattr(existing, STAND_IN_MARKER, False))
    try:
        import torchvision  # noqa: F401
        return False  # a working torchvision: never replace it
    except Exception as e:  # not installed, or a build that does not match torch (e.g. missing C++ ops)
        reason = f"{type(e).__name__}: {e}"
    # A failed import can leave half-initialised torchvision modules behind; drop them before registering.
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]

    root = types.ModuleType("torchvision", "bench stand-in for torchvision: only ops.nms / ops.batched_nms (YOLOX).")
    ops = types.ModuleType("torchvision.ops", "bench stand-in: plain-torch nms / batched_nms from bench.detect.nms.")
    ops.nms = nms
    ops.batched_nms = batched_nms
    ops.__getattr__ = _stand_in_getattr("torchvision.ops")
    root.ops = ops
    root.__version__ = "0.0.0+bench.detect.nms.stand_in"
    root.__getattr__ = _stand_in_getattr("torchvision")
    setattr(root, STAND_IN_MARKER, True)
    setattr(ops, STAND_IN_MARKER, True)
    sys.modules["torchvision"] = root
    sys.modules["torchvision.ops"] = ops
    if not reason.startswith("ModuleNotFoundError"):
        warnings.warn(f"torchvision failed to import ({reason}); using bench's NMS-only stand-in for YOLOX",
                      RuntimeWarning, stacklevel=2)
    return True


__all__ = ["box_iou", "nms", "batched_nms", "install_torchvision_stand_in"]
