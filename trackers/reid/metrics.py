"""Re-ID retrieval quality: mAP and rank-1 with cosine similarity.

Gallery items of the query's own identity within `min_frame_gap` frames of the query (same sequence) are left out:
adjacent video frames are near-duplicates and would make retrieval trivially easy.
"""

from __future__ import annotations

import numpy as np

QUERY_BLOCK = 256  # queries scored per matrix product: 256 x N similarities (17k val crops: 17 MB)


def _codes(values: np.ndarray) -> np.ndarray:
    """Integer codes of `values` (equal values, equal codes): one comparison per pair instead of a string compare."""
    return np.unique(np.asarray(values), return_inverse=True)[1].reshape(-1)


def _stable_ranks(sims: np.ndarray, positives: np.ndarray) -> np.ndarray:
    """1-based ranks of the positives among `sims` ordered by descending similarity, ties in index order (a stable
    sort): each positive's rank is 1 + the items above it, found by bisecting the sorted similarities. Where a
    positive ties with another item the bisection cannot order them, and the row is sorted in full instead."""
    desc = np.sort(-sims)
    pos = -sims[positives]
    above = np.searchsorted(desc, pos, side="left")
    if (np.searchsorted(desc, pos, side="right") - above > 1).any():
        order = np.argsort(-sims, kind="stable")
        hit = np.zeros(len(sims), dtype=bool)
        hit[positives] = True
        return np.flatnonzero(hit[order]) + 1
    return np.sort(above) + 1


def retrieval_metrics(
    feats: np.ndarray,
    ids: np.ndarray,
    seqs: np.ndarray,
    frames: np.ndarray,
    query_idx: np.ndarray,
    min_frame_gap: int = 25,
) -> dict[str, float]:
    """mAP and rank-1 (fractions) of each query against all other crops, with the frame-gap exclusion.

    `ids` must be unique across sequences (e.g. "seq:id" strings or globally unique ints). Queries without a
    valid positive in the gallery are skipped; `queries` reports how many counted. Similarities are computed for a
    block of queries at once (a matrix product; one query at a time read all features once per query), then each
    query's positives are ranked among its gallery: the ranking is a stable sort, as before.
    """
    feats = feats / np.linalg.norm(feats, axis=1, keepdims=True).clip(min=1e-12)
    id_codes, seq_codes = _codes(ids), _codes(seqs)
    frames = np.asarray(frames)
    query_idx = np.asarray(query_idx, dtype=np.int64).reshape(-1)
    aps, top1 = [], []
    for start in range(0, len(query_idx), QUERY_BLOCK):
        block = query_idx[start:start + QUERY_BLOCK]
        block_sims = feats[block] @ feats.T
        for q, sims in zip(block, block_sims):
            same_id = id_codes == id_codes[q]
            near = (seq_codes == seq_codes[q]) & (np.abs(frames - frames[q]) < min_frame_gap)
            valid = ~(same_id & near)
            valid[q] = False
            positives = np.flatnonzero((same_id & valid)[valid])
            if len(positives) == 0:
                continue
            ranks = _stable_ranks(sims[valid], positives)
            aps.append(float(np.mean(np.arange(1, len(ranks) + 1) / ranks)))
            top1.append(float(ranks[0] == 1))
    if not aps:
        return {"mAP": float("nan"), "rank1": float("nan"), "queries": 0}
    return {"mAP": float(np.mean(aps)), "rank1": float(np.mean(top1)), "queries": len(aps)}
