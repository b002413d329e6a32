"""py-motmetrics as an independent second opinion on TrackEval's MOTA, IDF1, ID switches, FP and FN.

motmetrics is fed the very boxes, ids and IoUs TrackEval scored (after its preprocessing), runs its own
accumulator (matches, misses, false positives, switches frame by frame) and its own metric code, with TrackEval's
matching rule (below); any difference is reported, not averaged.

Why FP/FN (and IDs, MOTA) used to differ on synth although both tools saw the same boxes: the two tools carry
correspondences forward differently. The CLEAR MOT paper (Bernardin & Stiefelhagen 2008, sec. 2.1.1) and TrackEval
keep a pair first only if it was matched in the *previous* frame (TrackEval: the last frame that had both gt and
tracker boxes), then maximise IoU. motmetrics 1.4 re-links every gt to its *last ever* matched tracker id
(`MOTAccumulator.m`, kept across frames where that gt went unmatched) before its Hungarian step. When a gt is
re-acquired after a gap and its old tracker id is still a valid (IoU >= 0.5) but not the best pairing, the matching
differs, and with it FP, FN, IDs and MOTA (IDF1, one global assignment in both, agrees either way).
`test_reacquisition_after_a_gap_is_a_known_definitional_difference` reproduces it on two tiny sequences; on the
10 synth val sequences it was the cause of every difference (ByteTrack: IDs 129 vs 109, FP/FN 141/3588 vs
145/3592).

The assignment step after it may differ too: motmetrics' solvers take as many pairs as possible, TrackEval the
largest total IoU (two strong pairs can beat three weak ones); not seen on synth, possible in principle.

So the cross-check runs motmetrics' accumulator with the paper's rule (`PaperAccumulator`: an older
correspondence is hidden from motmetrics' carry-forward step and restored afterwards; a gt re-acquired by another
tracker id still counts as a switch, as motmetrics counts switches) and TrackEval's assignment objective
(`_max_iou_pairs`). Then every metric must agree exactly, and any
difference is a real disagreement, shown in red.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import pandas as pd

from bench.evaluate.trackeval_adapter import MATCH_IOU

AGREEMENT_TOL = 1e-6
CROSSCHECK_METRICS = ("MOTA", "IDF1", "IDs", "FP", "FN")
_MM_METRICS = ["mota", "idf1", "num_switches", "num_false_positives", "num_misses", "num_objects", "num_predictions"]
_MM_NAMES = {"mota": "MOTA", "idf1": "IDF1", "num_switches": "IDs", "num_false_positives": "FP", "num_misses": "FN"}


_MIN_IOU = MATCH_IOU - np.finfo(float).eps  # IoU below this: do-not-pair (NaN distance)


def accumulate(data: dict) -> Any:
    """Feed one preprocessed TrackEval sequence to py-motmetrics: same ids, same IoUs, same IoU ≥ 0.5 rule.

    motmetrics' own `iou_matrix` is not used (it calls np.asfarray, gone in numpy 2); distances are 1 − IoU with
    pairs below TrackEval's threshold marked NaN (do-not-pair). Frame ids are TrackEval's timesteps (0-based).
    """
    import motmetrics as mm

    acc = _paper_accumulator()
    with mm.lap.set_default_solver(_max_iou_pairs):
        for gt_ids, trk_ids, sim in zip(data["gt_ids"], data["tracker_ids"], data["similarity_scores"]):
            sim = np.asarray(sim, dtype=np.float64).reshape(len(gt_ids), len(trk_ids))
            acc.update(np.asarray(gt_ids), np.asarray(trk_ids), np.where(sim < _MIN_IOU, np.nan, 1.0 - sim))
    return acc


@functools.cache
def _paper_accumulator_class() -> type:
    import motmetrics as mm

    class PaperAccumulator(mm.MOTAccumulator):
        """motmetrics' accumulator, carrying forward only the pairs matched in the last frame that had both gt and
        tracker boxes (CLEAR MOT, TrackEval) instead of every gt's last-ever pair (module docstring)."""

        def __init__(self) -> None:
            super().__init__(auto_id=True)
            self._last_scored: Any = None  # frame id of the last update with gt and tracker boxes

        def update(self, oids: Any, hids: Any, dists: Any, frameid: Any = None, vf: str = "") -> Any:
            oids, hids = np.asarray(oids), np.asarray(hids)
            hidden = {o: self.m.pop(o) for o in oids.tolist()
                      if o in self.m and self.last_match.get(o) != self._last_scored}
            start = len(self._events["Type"])
            frameid = super().update(oids, hids, dists, frameid, vf)
            if oids.size and hids.size:
                self._last_scored = frameid
            for o, h_before in hidden.items():
                if o not in self.m:
                    self.m[o] = h_before  # still unmatched: its last match decides a later switch
                elif self.m[o] != h_before:  # re-acquired by another id: the switch motmetrics would have counted
                    events = self._events
                    for i in range(start, len(events["Type"])):
                        if events["Type"][i] == "MATCH" and events["OId"][i] == o:
                            events["Type"][i] = "SWITCH"
                            break
            return frameid

    return PaperAccumulator


def _paper_accumulator() -> Any:
    return _paper_accumulator_class()()


def _max_iou_pairs(costs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """motmetrics' assignment step with TrackEval's objective: the pairs of largest total IoU among the allowed
    ones (scipy's Hungarian, as TrackEval), not motmetrics' default of as many pairs as possible, which can differ
    when two strong pairs beat three weak ones. No work when no pair is allowed (most frames)."""
    from scipy.optimize import linear_sum_assignment

    allowed = np.isfinite(costs)
    if not allowed.any():
        return np.zeros(0, dtype=int), np.zeros(0, dtype=int)
    rows, cols = linear_sum_assignment(np.where(allowed, 1.0 - costs, 0.0), maximize=True)
    keep = allowed[rows, cols]
    return rows[keep], cols[keep]


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
    """Compare TrackEval and motmetrics row by row: any difference beyond AGREEMENT_TOL is a disagreement. A rate
    motmetrics leaves undefined (MOTA without gt objects: x/0) is neither: it is listed in `unchecked`, and the
    row's `agree` is then about the metrics that could be checked."""
    rows, lines = [], []
    for seq in metrics.index:
        row: dict[str, Any] = {"seq": seq}
        worst = 0.0
        unchecked = []
        mm_row = mm_summary.loc[seq] if seq in mm_summary.index else None
        for name in CROSSCHECK_METRICS:
            te = float(metrics.at[seq, name])
            mm_val = float(mm_row[name]) if mm_row is not None else math.nan
            row[f"{name}_trackeval"], row[f"{name}_motmetrics"] = te, mm_val
            if not math.isfinite(mm_val) and mm_row is not None and _undefined_in_motmetrics(name, mm_row):
                unchecked.append(name)  # e.g. MOTA without gt: motmetrics divides by 0, TrackEval reports 0 or −FP
                continue
            diff = abs(te - mm_val) if math.isfinite(mm_val) else math.inf
            worst = max(worst, diff)
            if diff > AGREEMENT_TOL:
                lines.append(f"{seq}: {name} TrackEval={te:.10g} motmetrics={mm_val:.10g} (|diff|={diff:.3g})")
        row["max_abs_diff"] = worst
        row["agree"] = worst <= AGREEMENT_TOL
        row["unchecked"] = ",".join(unchecked)
        rows.append(row)
    return pd.DataFrame(rows).set_index("seq"), lines


def _undefined_in_motmetrics(name: str, mm_row: pd.Series) -> bool:
    if name == "MOTA":
        return mm_row["num_objects"] == 0
    if name == "IDF1":
        return mm_row["num_objects"] + mm_row["num_predictions"] == 0
    return False


def summary_line(checks: pd.DataFrame, where: str) -> tuple[str, bool]:
    """One line for a whole run: (text, all agree). `checks` is crosscheck.csv's table (a `tracker` column when
    several trackers were scored, the sequence in `seq` or the index); `where` says where the details are."""
    table = checks.reset_index() if "seq" not in checks.columns else checks
    per_seq = table[table["seq"] != "COMBINED"]
    n = len(per_seq)

    def differs(frame: pd.DataFrame, name: str) -> pd.Series:
        te, mm_val = frame[f"{name}_trackeval"].astype(float), frame[f"{name}_motmetrics"].astype(float)
        unchecked = frame["unchecked"].fillna("").astype(str).str.split(",").apply(lambda u: name in u) \
            if "unchecked" in frame.columns else pd.Series(False, index=frame.index)
        return ~unchecked & ~((te - mm_val).abs() <= AGREEMENT_TOL)

    idf1_ok = n - int(differs(per_seq, "IDF1").sum())
    parts = []
    for name in ("IDs", "FP", "FN", "MOTA"):
        bad = differs(per_seq, name)
        if bad.any():
            size = (per_seq.loc[bad, f"{name}_trackeval"] - per_seq.loc[bad, f"{name}_motmetrics"]).abs().max()
            parts.append(f"{name} on {int(bad.sum())} (largest {size:.3g})")
    combined = table[table["seq"] == "COMBINED"]
    combined_bad = any(differs(combined, m).any() for m in CROSSCHECK_METRICS)
    unchecked = per_seq["unchecked"].fillna("").astype(str).str.len().gt(0) if "unchecked" in per_seq.columns \
        else pd.Series(False, index=per_seq.index)
    ok = idf1_ok == n and not parts and not combined_bad
    pairs = "(tracker, sequence) pairs" if "tracker" in table.columns else "sequences"
    if ok:
        text = f"cross-check: py-motmetrics agrees with TrackEval on IDF1, IDs, FP, FN and MOTA for all {n} {pairs}"
    else:
        text = (f"cross-check: py-motmetrics and TrackEval DISAGREE: IDF1 agrees on {idf1_ok} of {n} {pairs}; "
                f"differences: {'; '.join(parts) or 'none per sequence'}"
                + ("; COMBINED differs" if combined_bad else ""))
    if unchecked.any():
        text += (f"; MOTA not checkable on {int(unchecked.sum())} without gt objects (py-motmetrics' MOTA is "
                 "undefined there)")
    return f"{text} — {where}", ok
