"""Occlusion-stratified metrics: how trackers do on gt boxes by visibility, and whether they re-link after occlusion.

Data: the gt TrackEval evaluates, i.e. after the benchmark's standard preprocessing (`bench.evaluate.trackeval_adapter`:
distractors and zero-marked boxes removed), with each box's visibility (gt column 9) carried along. Matching: the
per-frame CLEAR matching that py-motmetrics' `MOTAccumulator` makes on TrackEval's preprocessed boxes and IoUs
(IoU ≥ 0.5), exactly as the cross-check builds it (`bench.evaluate.crosscheck.accumulate`); no matcher of our own. (motmetrics
follows TrackEval's rule for a re-acquired target, see bench/evaluate/crosscheck.py, so the totals here are
TrackEval's recall and switch counts wherever the run's cross-check agrees.)

What is counted on these boxes are breakdowns of the metrics (`bench.evaluate.breakdowns`): by gt visibility
(`breakdowns/visibility.py`) and re-link after occlusion gaps (`breakdowns/relink.py`), each with a per-sequence and a
combine step, computed when a run is evaluated and stored with it.

Ground truth without visibility (MOT15, 8-column gt, or a visibility column that is 1 everywhere as DanceTrack writes
it) has nothing to stratify, nor has a benchmark scored without classes (MOT15, none): `analyse_occlusion` returns
None. Visibility in percent (some value above 1) is read as percent. Sums run over all given sequences.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bench.data.benchmarks import preprocesses, visibility_scale
from bench.evaluate import crosscheck, trackeval_adapter
from bench.evaluate.inputs import EvalInputs


@dataclass
class OcclusionTables:
    by_visibility: pd.DataFrame  # tracker, bin, gt_boxes, matched, recall, id_switches, idsw_per_100, id_consistency
    relink: pd.DataFrame  # tracker, gap_bin, gaps, relinked, rate


def analyse_occlusion(results: dict[str, Path], gt_root: Path, seqs: list[str],
                      benchmark: str | None = None) -> OcclusionTables | None:
    """results: tracker name → folder holding <SEQ>.txt; the two occlusion breakdowns combined over `seqs`. None
    when the gt has no visibility (see module doc)."""
    from bench.evaluate.breakdowns import compute
    from bench.evaluate.breakdowns.relink import Relink
    from bench.evaluate.breakdowns.visibility import VisibilityBins

    tables, reasons = compute(results, gt_root, seqs, benchmark)
    if reasons[VisibilityBins.name] or reasons[Relink.name]:
        return None
    return OcclusionTables(tables[VisibilityBins.name].combined, tables[Relink.name].combined)


def sequence_boxes(inputs: EvalInputs, seq: str) -> pd.DataFrame:
    """One row per evaluated gt box: seq, frame (0-based timestep), gt (TrackEval's relabelled id), vis, matched
    tracker id (hid, NaN if unmatched), switch (bool), consistent (hid is the gt's global IDF1 partner)."""
    data = trackeval_adapter.preprocess(inputs.results_dir, inputs.gt_root, seq, inputs.lengths[seq],
                                        inputs.benchmark, inputs.gts[seq], inputs.results[seq])
    vis = _preprocessed_visibility(inputs, seq, data)
    frames = np.concatenate([np.full(len(ids), t) for t, ids in enumerate(data["gt_ids"])]).astype(np.int64)
    gt_ids = np.concatenate(data["gt_ids"]).astype(np.int64) if frames.size else np.zeros(0, np.int64)
    boxes = pd.DataFrame({"seq": seq, "frame": frames, "gt": gt_ids, "vis": vis})

    acc = crosscheck.accumulate(data)
    events = acc.mot_events.reset_index()
    pairs = events[events["Type"].isin(["MATCH", "SWITCH"])]
    matches = pd.DataFrame({"frame": pairs["FrameId"].astype(np.int64), "gt": pairs["OId"].astype(np.int64),
                            "hid": pairs["HId"].astype(float), "switch": (pairs["Type"] == "SWITCH").to_numpy()})
    boxes = boxes.merge(matches, on=["frame", "gt"], how="left", validate="one_to_one")
    boxes["switch"] = boxes["switch"].fillna(False).astype(bool)
    partner = _global_id_assignment(acc)
    boxes["consistent"] = boxes["hid"].notna() & (boxes["gt"].map(partner) == boxes["hid"])
    return boxes


def _preprocessed_visibility(inputs: EvalInputs, seq: str, data: dict) -> np.ndarray:
    """Visibility of each gt box TrackEval kept, in its order: the raw boxes of each frame (file order) filtered by
    TrackEval's gt rule (zero-marked removed; for MOT16/17/20 only class 1); checked box for box against its output."""
    raw = trackeval_adapter.raw_arrays(inputs.gts[seq], inputs.lengths[seq], is_gt=True)
    rows = inputs.gts[seq].rows[np.argsort(inputs.gts[seq].rows[:, 0], kind="stable")]
    scale = visibility_scale(inputs.gts[seq])  # percent → fraction
    out, start = [], 0
    for t, dets in enumerate(raw["gt_dets"]):
        keep = raw["gt_extras"][t]["zero_marked"] != 0
        if preprocesses(inputs.benchmark):
            keep &= raw["gt_classes"][t] == 1
        if not np.array_equal(dets[keep], data["gt_dets"][t]):
            raise RuntimeError(f"{seq} frame {t + 1}: gt kept by TrackEval differs from the visibility join")
        out.append(rows[start:start + len(dets), 8][keep] * scale)
        start += len(dets)
    return np.concatenate(out) if out else np.zeros(0)


def _global_id_assignment(acc) -> dict[int, float]:
    """gt id → tracker id under motmetrics' global IDF1 assignment (pairs of real ids only)."""
    import motmetrics as mm

    df_map = mm.metrics.events_to_df_map(acc.events)
    ocs, hcs, _ = mm.metrics.extract_counts_from_df_map(df_map)
    oids, hids = sorted(ocs), sorted(hcs)
    if not oids or not hids:
        return {}
    assignment = mm.metrics.id_global_assignment(df_map)
    return {int(oids[r]): float(hids[c]) for r, c in zip(assignment["rids"], assignment["cids"])
            if r < len(oids) and c < len(hids)}
