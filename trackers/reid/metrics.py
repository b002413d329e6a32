"""Re-ID retrieval quality: mAP and rank-1 with cosine similarity.

Gallery items of the query's own identity within `min_frame_gap` frames of the query (same sequence) are left out:
adjacent video frames are near-duplicates and would make retrieval trivially easy.
"""

from __future__ import annotations

import numpy as np


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
    valid positive in the gallery are skipped; `queries` reports how many counted.
    """
    feats = feats / np.linalg.norm(feats, axis=1, keepdims=True).clip(min=1e-12)
    aps, top1 = [], []
    for q in query_idx:
        sims = feats @ feats[q]
        same_id = ids == ids[q]
        near = (seqs == seqs[q]) & (np.abs(frames - frames[q]) < min_frame_gap)
        valid = ~(same_id & near)
        valid[q] = False
        positives = same_id & valid
        if not positives.any():
            continue
        order = np.argsort(-sims[valid], kind="stable")
        hits = positives[valid][order]
        ranks = np.flatnonzero(hits) + 1
        aps.append(float(np.mean(np.arange(1, len(ranks) + 1) / ranks)))
        top1.append(float(hits[0]))
    if not aps:
        return {"mAP": float("nan"), "rank1": float("nan"), "queries": 0}
    return {"mAP": float(np.mean(aps)), "rank1": float(np.mean(top1)), "queries": len(aps)}
