"""Occlusion-stratified metrics: how trackers do on gt boxes by visibility, and whether they re-link after occlusion.

Data: the gt TrackEval evaluates, i.e. after the benchmark's standard preprocessing (`bench.evaluate.trackeval_adapter`:
distractors and zero-marked boxes removed), with each box's visibility (gt column 9) carried along. Matching: the
per-frame CLEAR matching that py-motmetrics' `MOTAccumulator` makes on TrackEval's preprocessed boxes and IoUs
(IoU ≥ 0.5), exactly as the cross-check builds it (`bench.evaluate.crosscheck.accumulate`); no matcher of our own. (motmetrics
and TrackEval can pair a re-acquired target differently, see bench/evaluate/crosscheck.py, so the totals here equal
motmetrics' recall and switch counts, which can differ from TrackEval's by a few boxes.)

Per tracker and visibility bin ([0, .25), [.25, .5), [.5, .75), [.75, 1]; each gt box by its own visibility):
- gt_boxes: gt boxes in the bin; matched: those the CLEAR matching paired with a tracker box (MATCH or SWITCH event);
  recall = matched / gt_boxes.
- id_switches: motmetrics' SWITCH events (a gt paired with a different tracker id than at its last match), counted
  in the bin of the gt box where the switch happens; idsw_per_100 = 100 · id_switches / matched.
- id_consistency: share of matched boxes whose tracker id is the one their gt track is assigned to under the global
  IDF1 matching (motmetrics' `id_global_assignment`: one-to-one, maximising IoU ≥ 0.5 overlaps over the sequence,
  as the Identity metric defines it); gt tracks left unassigned count as inconsistent.

Re-link after occlusion, per tracker and gap-length bin (1-5, 6-15, 16-30, >30 frames): for each gt track, frames
from its first to its last gt box are walked; a frame is "seen" when the gt box is there, matched, and its
visibility is ≥ 0.1; a gap is a maximal run of frames that are not seen (box unmatched, visibility < 0.1, or no gt
box in that frame). A gap counts only when a seen frame lies right before and right after it (so gaps at the start
or end of a track are not counted); it is relinked when the tracker id after the gap equals the one before it.
gaps: counted gaps; relinked: those relinked; rate = relinked / gaps (NaN without gaps).

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
from bench.evaluate.inputs import EvalInputs, load_inputs

VIS_BINS = ("[0, .25)", "[.25, .5)", "[.5, .75)", "[.75, 1]")
_VIS_EDGES = (0.25, 0.5, 0.75)
GAP_BINS = ("1-5", "6-15", "16-30", ">30")
_GAP_EDGES = (6, 16, 31)  # a gap of n frames falls in bin digitize(n, edges)
SEEN_VISIBILITY = 0.1


@dataclass
class OcclusionTables:
    by_visibility: pd.DataFrame  # tracker, bin, gt_boxes, matched, recall, id_switches, idsw_per_100, id_consistency
    relink: pd.DataFrame  # tracker, gap_bin, gaps, relinked, rate
    # the same counts per sequence (tracker, seq, kind = visibility | gap, bin, gt_boxes, matched, id_switches,
    # consistent, gaps, relinked), for paired tests over sequences (bench/analysis/occlusion_stats.py); None where
    # not computed
    per_sequence: pd.DataFrame | None = None


def analyse_occlusion(results: dict[str, Path], gt_root: Path, seqs: list[str],
                      benchmark: str | None = None) -> OcclusionTables | None:
    """results: tracker name → folder holding <SEQ>.txt. None when the gt has no visibility (see module doc)."""
    vis_rows, gap_rows, seq_rows = [], [], []
    for tracker, folder in results.items():
        inputs = load_inputs(Path(folder), Path(gt_root), list(seqs), benchmark)
        scales = {s: visibility_scale(inputs.gts[s]) for s in seqs}
        if (not preprocesses(inputs.benchmark) or any(v is None for v in scales.values())
                or all((inputs.gts[s].rows[:, 8] * scales[s] == 1).all() for s in seqs)):
            return None
        per_seq = {s: _sequence_boxes(inputs, s) for s in seqs}
        boxes = pd.concat(list(per_seq.values()), ignore_index=True)
        vis_rows += _by_visibility(tracker, boxes)
        gap_rows += _relink(tracker, boxes)
        for s, b in per_seq.items():
            seq_rows += _sequence_counts(tracker, s, b)
    return OcclusionTables(pd.DataFrame(vis_rows), pd.DataFrame(gap_rows), pd.DataFrame(seq_rows))


def _sequence_counts(tracker: str, seq: str, boxes: pd.DataFrame) -> list[dict]:
    """One sequence's counts per visibility bin and per gap bin (the pooled tables' numerators and denominators)."""
    rows = [{"tracker": tracker, "seq": seq, "kind": "visibility", "bin": r["bin"], "gt_boxes": r["gt_boxes"],
             "matched": r["matched"], "id_switches": r["id_switches"],
             "consistent": round((r["id_consistency"] if r["matched"] else 0) * r["matched"]), "gaps": 0,
             "relinked": 0} for r in _by_visibility(tracker, boxes)]
    rows += [{"tracker": tracker, "seq": seq, "kind": "gap", "bin": r["gap_bin"], "gt_boxes": 0, "matched": 0,
              "id_switches": 0, "consistent": 0, "gaps": r["gaps"], "relinked": r["relinked"]}
             for r in _relink(tracker, boxes)]
    return rows


def _sequence_boxes(inputs: EvalInputs, seq: str) -> pd.DataFrame:
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


def _by_visibility(tracker: str, boxes: pd.DataFrame) -> list[dict]:
    bins = np.digitize(boxes["vis"].to_numpy(), _VIS_EDGES)
    rows = []
    for i, name in enumerate(VIS_BINS):
        b = boxes[bins == i]
        gt, matched = len(b), int(b["hid"].notna().sum())
        switches, consistent = int(b["switch"].sum()), int(b["consistent"].sum())
        rows.append({"tracker": tracker, "bin": name, "gt_boxes": gt, "matched": matched,
                     "recall": matched / gt if gt else np.nan, "id_switches": switches,
                     "idsw_per_100": 100 * switches / matched if matched else np.nan,
                     "id_consistency": consistent / matched if matched else np.nan})
    return rows


def _relink(tracker: str, boxes: pd.DataFrame) -> list[dict]:
    """Walk every gt track over its span (frames without a gt box count as not seen) and score each inner gap."""
    lengths = np.zeros(0, np.int64)
    relinked = np.zeros(0, bool)
    for _, track in boxes.groupby(["seq", "gt"], sort=False):
        frames = track["frame"].to_numpy()
        span = np.full(frames.max() - frames.min() + 1, np.nan)  # tracker id where seen, NaN where not
        seen = track["hid"].notna().to_numpy() & (track["vis"].to_numpy() >= SEEN_VISIBILITY)
        span[frames[seen] - frames.min()] = track["hid"].to_numpy()[seen]
        is_gap = np.isnan(span)
        edges = np.diff(np.concatenate([[0], is_gap.astype(np.int8), [0]]))
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)  # gap = span[start:end]
        inner = (starts > 0) & (ends < len(span))
        starts, ends = starts[inner], ends[inner]
        lengths = np.concatenate([lengths, ends - starts])
        relinked = np.concatenate([relinked, span[starts - 1] == span[ends]])
    bins = np.digitize(lengths, _GAP_EDGES)
    rows = []
    for i, name in enumerate(GAP_BINS):
        gaps, ok = int((bins == i).sum()), int(relinked[bins == i].sum())
        rows.append({"tracker": tracker, "gap_bin": name, "gaps": gaps, "relinked": ok,
                     "rate": ok / gaps if gaps else np.nan})
    return rows


def tables_from_counts(per_sequence: pd.DataFrame) -> OcclusionTables:
    """The pooled tables again from stored per-sequence counts (a report rebuilt without the result files)."""
    vis = per_sequence[per_sequence["kind"] == "visibility"]
    vis = vis.groupby(["tracker", "bin"], sort=False)[["gt_boxes", "matched", "id_switches", "consistent"]].sum()
    vis = vis.reset_index()
    vis["recall"] = vis["matched"] / vis["gt_boxes"].where(vis["gt_boxes"] > 0)
    vis["idsw_per_100"] = 100 * vis["id_switches"] / vis["matched"].where(vis["matched"] > 0)
    vis["id_consistency"] = vis["consistent"] / vis["matched"].where(vis["matched"] > 0)
    rel = per_sequence[per_sequence["kind"] == "gap"].rename(columns={"bin": "gap_bin"})
    rel = rel.groupby(["tracker", "gap_bin"], sort=False)[["gaps", "relinked"]].sum().reset_index()
    rel["rate"] = rel["relinked"] / rel["gaps"].where(rel["gaps"] > 0)
    vis = vis[["tracker", "bin", "gt_boxes", "matched", "recall", "id_switches", "idsw_per_100", "id_consistency"]]
    return OcclusionTables(vis, rel[["tracker", "gap_bin", "gaps", "relinked", "rate"]], per_sequence)
