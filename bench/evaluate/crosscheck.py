"""py-motmetrics as an independent second opinion on TrackEval's MOTA, IDF1, ID switches, FP and FN.

motmetrics is fed the very boxes, ids and IoUs TrackEval scored (after its preprocessing), runs its own matching
(its default solver: lap's lapjv where `lap` is installed, as here; skipped in frames where no pair is left to match)
and its own metric code; any difference is reported, not averaged.

One difference is by definition, not a bug: the per-frame CLEAR matching after a gap. TrackEval favours (+1000 score)
only pairs matched in the previous frame (the last one that had both gt and tracker boxes), then maximises IoU.
motmetrics first re-links every gt to its *last ever* matched tracker id (`MOTAccumulator.m`, kept across frames
where that gt went unmatched), greedily in gt order and before its Hungarian step. So when a gt is re-acquired
after one or more missed frames and its old tracker id is still a valid (IoU >= 0.5) but not the best pairing, the
two can match differently: IDs, FP and FN (and so MOTA) then legitimately differ, while IDF1 (one global id
assignment in both) still agrees. The check stays strict; such a report needs a look at the matching before it is
called a bug.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from bench.evaluate.trackeval_adapter import MATCH_IOU

AGREEMENT_TOL = 1e-6
CROSSCHECK_METRICS = ("MOTA", "IDF1", "IDs", "FP", "FN")
_MM_METRICS = ["mota", "idf1", "num_switches", "num_false_positives", "num_misses", "num_objects", "num_predictions"]
_MM_NAMES = {"mota": "MOTA", "idf1": "IDF1", "num_switches": "IDs", "num_false_positives": "FP", "num_misses": "FN"}
NOTE = ("Reported numbers are TrackEval's. IDF1 must agree; IDs/FP/FN (and MOTA) can differ by definition when a "
        "target is re-acquired after a gap (see bench/evaluate/crosscheck.py).")


_MIN_IOU = MATCH_IOU - np.finfo(float).eps  # IoU below this: do-not-pair (NaN distance)


def accumulate(data: dict) -> Any:
    """Feed one preprocessed TrackEval sequence to py-motmetrics: same ids, same IoUs, same IoU ≥ 0.5 rule.

    motmetrics' own `iou_matrix` is not used (it calls np.asfarray, gone in numpy 2); distances are 1 − IoU with
    pairs below TrackEval's threshold marked NaN (do-not-pair). Frame ids are TrackEval's timesteps (0-based).
    """
    import motmetrics as mm

    acc = mm.MOTAccumulator(auto_id=True)
    with mm.lap.set_default_solver(_skip_empty(mm.lap.default_solver)):
        for gt_ids, trk_ids, sim in zip(data["gt_ids"], data["tracker_ids"], data["similarity_scores"]):
            sim = np.asarray(sim, dtype=np.float64).reshape(len(gt_ids), len(trk_ids))
            acc.update(np.asarray(gt_ids), np.asarray(trk_ids), np.where(sim < _MIN_IOU, np.nan, 1.0 - sim))
    return acc


def _skip_empty(solver: Any) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """motmetrics' solver, not called when no pair is allowed: after motmetrics re-links last frame's pairs that is
    most frames, and every solver returns no pairs then (they drop NaN pairs), so only the time changes."""
    import motmetrics as mm

    solve = mm.lap.solver_map[solver] if isinstance(solver, str) else solver
    empty = np.zeros(0, dtype=int)

    def solver_or_nothing(costs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return solve(costs) if np.isfinite(costs).any() else (empty, empty)

    return solver_or_nothing


@functools.cache
def _host() -> Any:
    import motmetrics as mm

    return mm.metrics.create()  # registers ~40 metrics; built once per process


def warm_up() -> None:
    """Import motmetrics and register its metrics now (the parent does it once before forking workers)."""
    _host()


def partial(acc: Any) -> dict:
    """motmetrics' per-sequence metric values with their intermediates (what `compute_overall` combines)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return _host().compute(acc, metrics=_MM_METRICS, return_dataframe=False, return_cached=True)


def summary(partials: dict[str, dict]) -> pd.DataFrame:
    """py-motmetrics' MOTA, IDF1, IDs, FP, FN (and the denominators) per sequence plus "COMBINED" (its OVERALL)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        overall = _host().compute_overall(list(partials.values()), metrics=_MM_METRICS, return_dataframe=False)
    rows = {seq: {k: p[k] for k in _MM_METRICS} for seq, p in partials.items()}
    rows["COMBINED"] = {k: overall[k] for k in _MM_METRICS}
    return pd.DataFrame.from_dict(rows, orient="index").rename(columns=_MM_NAMES).astype(float)


def compare(metrics: pd.DataFrame, mm_summary: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Compare TrackEval and motmetrics row by row; a rate motmetrics leaves undefined (0/0 or x/0) is only
    accepted where its denominator really is zero — anything else beyond AGREEMENT_TOL is a disagreement."""
    rows, lines = [], []
    for seq in metrics.index:
        row: dict[str, Any] = {"seq": seq}
        worst = 0.0
        mm_row = mm_summary.loc[seq] if seq in mm_summary.index else None
        for name in CROSSCHECK_METRICS:
            te = float(metrics.at[seq, name])
            mm_val = float(mm_row[name]) if mm_row is not None else math.nan
            row[f"{name}_trackeval"], row[f"{name}_motmetrics"] = te, mm_val
            if not math.isfinite(mm_val) and mm_row is not None and _undefined_in_motmetrics(name, mm_row):
                continue  # e.g. MOTA without gt: motmetrics divides by 0 (±inf/NaN), TrackEval reports 0 or −FP
            diff = abs(te - mm_val) if math.isfinite(mm_val) else math.inf
            worst = max(worst, diff)
            if diff > AGREEMENT_TOL:
                lines.append(f"{seq}: {name} TrackEval={te:.10g} motmetrics={mm_val:.10g} (|diff|={diff:.3g})")
        row["max_abs_diff"] = worst
        row["agree"] = worst <= AGREEMENT_TOL
        rows.append(row)
    return pd.DataFrame(rows).set_index("seq"), lines


def _undefined_in_motmetrics(name: str, mm_row: pd.Series) -> bool:
    if name == "MOTA":
        return mm_row["num_objects"] == 0
    if name == "IDF1":
        return mm_row["num_objects"] + mm_row["num_predictions"] == 0
    return False
