"""Cost matrices and assignment shared by the trackers.

One orientation everywhere: cost matrices are tracks × detections (rows = tracks, columns = detections).
`iou` uses the +1 pixel area convention of cython_bbox (what ByteTrack/JDE/FairMOT use), with the same float
order of operations, so costs match the reference bit for bit.
"""

from __future__ import annotations

import lap
import numpy as np
from numba import njit


def iou(boxes_a: np.ndarray, boxes_b: np.ndarray, offset: float = 1.0) -> np.ndarray:
    """(M, 4) × (N, 4) x1, y1, x2, y2 boxes → (M, N) IoU with areas (x2 - x1 + offset) * (y2 - y1 + offset).

    offset 1 mirrors cython_bbox.bbox_overlaps(a, b) (ByteTrack; a = rows, b = query boxes); offset 0 is DeepSORT's
    iou_matching.iou. union = area_a + area_b - inter, evaluated left to right; pairs whose widths/heights do not
    overlap get 0.
    """
    a = np.asarray(boxes_a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(boxes_b, dtype=np.float64).reshape(-1, 4)
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), dtype=np.float64)
    area_b = (b[:, 2] - b[:, 0] + offset) * (b[:, 3] - b[:, 1] + offset)
    area_a = (a[:, 2] - a[:, 0] + offset) * (a[:, 3] - a[:, 1] + offset)
    iw = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]) + offset
    ih = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]) + offset
    inter = iw * ih
    union = area_a[:, None] + area_b[None, :] - inter
    overlap = (iw > 0) & (ih > 0)
    out = np.zeros_like(inter)
    np.divide(inter, union, out=out, where=overlap)
    return out


@njit("float64(UniTuple(float64, 4), UniTuple(float64, 4), float64)", cache=True, error_model="numpy")
def pair_iou(box_a: tuple[float, float, float, float], box_b: tuple[float, float, float, float],
             offset: float = 1.0) -> float:
    """IoU of two x1, y1, x2, y2 boxes (tuples of floats): the entry `iou` gives that pair, bit for bit (the same
    IEEE double operations in the same order). Compiled, for loops over a few pairs (`bytetrack.duplicate_pairs`),
    where numpy's per-call cost would be many times the arithmetic. Division follows numpy's IEEE rules
    (error_model="numpy"): a zero union, as boxes whose area underflows give, is nan as in `iou`, not an exception."""
    area_b = (box_b[2] - box_b[0] + offset) * (box_b[3] - box_b[1] + offset)
    area_a = (box_a[2] - box_a[0] + offset) * (box_a[3] - box_a[1] + offset)
    iw = min(box_a[2], box_b[2]) - max(box_a[0], box_b[0]) + offset
    ih = min(box_a[3], box_b[3]) - max(box_a[1], box_b[1]) + offset
    if not (iw > 0 and ih > 0):
        return 0.0
    inter = iw * ih
    return inter / (area_a + area_b - inter)


def iou_distance(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """1 - IoU: the motion cost of ByteTrack and SORT-style trackers."""
    return 1 - iou(boxes_a, boxes_b)


def fuse_score(cost: np.ndarray, det_scores: np.ndarray) -> np.ndarray:
    """ByteTrack's fuse_score: cost' = 1 - (1 - cost) * score_j, so confident detections look closer.

    Kept as the reference computes it (1 - cost, not the IoU directly): the two differ in the last bit.
    """
    if cost.size == 0:
        return cost
    similarity = 1 - cost
    return 1 - similarity * np.asarray(det_scores, dtype=np.float64)[None, :]


def _no_matches(n_rows: int, n_cols: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The assignment of an empty cost matrix: every row and column unmatched."""
    return np.empty((0, 2), dtype=np.int64), np.arange(n_rows, dtype=np.int64), np.arange(n_cols, dtype=np.int64)


# Costs this close to the limit tie (up to rounding) with leaving the pair unmatched: only lapjv decides those.
TIE_MARGIN = 1e-6


def linear_assignment(
    cost: np.ndarray, thresh: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Min-cost assignment with a per-pair cost limit: the assignment `lapjv_assignment` returns, without
    calling lapjv when the answer is forced.

    Forced: the pairs cheaper than `thresh` share no row and no column, and no cost lies within TIE_MARGIN of
    `thresh`. Then those pairs are the unique optimum (each saves at least TIE_MARGIN over leaving its row and
    column unmatched, and any other pair costs more than leaving them unmatched), so every exact solver, lapjv
    included, returns exactly them. Anything else (crossing candidates, near-ties) goes to lapjv.
    Returns (matches (K, 2) int [track, det] by ascending track, unmatched_tracks (ascending), unmatched_dets
    (ascending)).
    """
    cost = np.asarray(cost, dtype=np.float64)
    n_rows, n_cols = cost.shape
    if cost.size == 0:
        return _no_matches(n_rows, n_cols)
    rows, cols = np.nonzero(cost < thresh - TIE_MARGIN)  # row-major: rows ascending
    r, c = rows.tolist(), cols.tolist()
    if len(set(r)) < len(r) or len(set(c)) < len(c) or np.count_nonzero(cost <= thresh + TIE_MARGIN) > len(r):
        return lapjv_assignment(cost, thresh)
    matched_rows, matched_cols = set(r), set(c)
    return (
        np.stack([rows, cols], axis=1).astype(np.int64),
        np.array([i for i in range(n_rows) if i not in matched_rows], dtype=np.int64),
        np.array([j for j in range(n_cols) if j not in matched_cols], dtype=np.int64),
    )


def lapjv_assignment(
    cost: np.ndarray, thresh: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Min-cost assignment with a per-pair cost limit, via lap.lapjv(extend_cost=True, cost_limit=thresh).

    This is not Hungarian followed by dropping pairs above `thresh`: lapjv solves the problem where leaving a
    row and a column unmatched costs `thresh`, so it may prefer one cheap pair over two pricier ones.
    Returns (matches (K, 2) int [track, det], unmatched_tracks (ascending), unmatched_dets (ascending)).
    """
    cost = np.asarray(cost, dtype=np.float64)
    if cost.size == 0:
        return _no_matches(*cost.shape)
    _, x, y = lap.lapjv(cost, extend_cost=True, cost_limit=thresh)
    rows = np.flatnonzero(x >= 0)
    matches = np.stack([rows, x[rows]], axis=1).astype(np.int64)
    return matches, np.flatnonzero(x < 0).astype(np.int64), np.flatnonzero(y < 0).astype(np.int64)


def cosine_distance(track_features: np.ndarray, det_features: np.ndarray, normalized: bool = False) -> np.ndarray:
    """(M, D) × (N, D) → (M, N) cosine distance 1 - cos, clipped at 0 (for appearance trackers).

    With `normalized=True` the rows are assumed L2-normalised already and only the dot product is taken.
    """
    a = np.asarray(track_features, dtype=np.float64)
    b = np.asarray(det_features, dtype=np.float64)
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), dtype=np.float64)
    if not normalized:
        a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
        b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return np.maximum(0.0, 1.0 - a @ b.T)
