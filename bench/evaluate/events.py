"""Identity errors as events: every ID switch and every fragmentation TrackEval counts, one row each.

The matching is TrackEval's own CLEAR matching (`trackeval.metrics.CLEAR.eval_sequence`), replayed step for step on
the same preprocessed data (`bench.evaluate.trackeval_adapter.preprocess(..., rows=True)`): per timestep a Hungarian
assignment (scipy's `linear_sum_assignment`, as TrackEval calls it) on 1000 · [tracker id = the gt's match in the
previous timestep] + IoU, pairs below IoU 0.5 - eps zeroed and dropped; timesteps without gt or without tracker
boxes skipped without resetting the previous-timestep matches, exactly as TrackEval does. What is recorded is what
TrackEval counts:

- **switch** (TrackEval's IDSW): a gt matched to another tracker id than at its last match, any number of frames
  earlier. One row per switch.
- **frag** (TrackEval's Frag): a gt tracked again after a timestep in which it was not tracked (each start of a
  tracked run after its first). One row per fragmentation. A gt re-acquired by another id after a gap is both: one
  switch row and one frag row at the same frame.

The number of rows of each kind equals TrackEval's IDSW and Frag for the sequence (`check_counts`; `evaluate` checks
it on every sequence it scores, and a difference is a bug, not a result). The matcher is not another matcher: it is
TrackEval's, and the equal counts (and equal TP and MOTP sums, checked in the tests) show its decisions are the same.

Columns (`COLUMNS`): seq; kind; frame (the sequence's 1-based frame number); gt_id (the gt file's id); track_before
(the tracker id the gt had at its last match), track_after (the one it has now; the file's ids); last_frame (frame of
that last match) and gap (frames in between: 0 for a switch between consecutive frames); visibility (the gt box's,
NaN where the occlusion section has none either: no visibility column, 1 everywhere as DanceTrack writes it, or a
benchmark scored without classes; percent scaled to 0-1); min_visibility (lowest
visibility of that gt's boxes from last_frame to frame, the occlusion the identity went through); iou (the
evaluation's IoU of the gt box and the matched tracker box); track_before_gt (the gt id that track_before is matched
to in this frame, NaN if none: a swap when it is another person); x, y, w, h (the gt box).

What the association saw: no tracker in bench writes its association costs (IoU or appearance distance) anywhere —
the MOTChallenge result format has no field for them — so the IoU here is the evaluation's gt/tracker IoU, and there
is no appearance-distance column rather than an invented one.

Like the breakdowns (bench.evaluate.breakdowns), this has a per-sequence step (`sequence_events`, computed while
TrackEval scores the sequence, on its preprocessed data) and a combine step (`combine`); the evaluation stage stores
the table with the run (`bench.core.record`). It is not a registered breakdown because it needs TrackEval's own
preprocessed data with row indices, which only the scoring step has.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bench.data.mot_fast import TextRows
from bench.evaluate.trackeval_adapter import MATCH_IOU

KINDS = ("switch", "frag")
COLUMNS = ("seq", "kind", "frame", "gt_id", "track_before", "track_after", "last_frame", "gap", "visibility",
           "min_visibility", "iou", "track_before_gt", "x", "y", "w", "h")
_DTYPES = {"frame": "int64", "gt_id": "int64", "track_before": "int64", "track_after": "int64",
           "last_frame": "int64", "gap": "int64"}


@dataclass(frozen=True)
class ClearReplay:
    """TrackEval's CLEAR matching of one sequence: per timestep the matched (gt, tracker) rows and similarities, and
    the counts CLEAR derives from them (to compare with TrackEval's own)."""

    matches: list[tuple[np.ndarray, np.ndarray]]  # per timestep: gt positions, tracker positions in that timestep
    idsw: int
    frag: int
    tp: int
    motp_sum: float


def replay_clear(data: dict, threshold: float = MATCH_IOU) -> tuple[ClearReplay, list[dict]]:
    """Replay `trackeval.metrics.CLEAR.eval_sequence`'s matching on preprocessed data; returns the replay and the raw
    events (relabelled ids, 0-based timesteps, positions within the timestep)."""
    from scipy.optimize import linear_sum_assignment

    eps = np.finfo("float").eps
    n_gt = int(data["num_gt_ids"])
    matches: list[tuple[np.ndarray, np.ndarray]] = [(np.zeros(0, int), np.zeros(0, int))] * data["num_timesteps"]
    events: list[dict] = []
    idsw = frag = tp = 0
    motp_sum = 0.0
    if data["num_tracker_dets"] == 0 or data["num_gt_dets"] == 0:
        return ClearReplay(matches, 0, 0, 0, 0.0), events
    prev_tracker_id = np.full(n_gt, np.nan)  # last matched tracker id, any number of timesteps back (IDSW)
    prev_timestep_tracker_id = np.full(n_gt, np.nan)  # the previous (non-skipped) timestep's match (preference, Frag)
    last_t = np.full(n_gt, -1)  # timestep of each gt's last match
    tracked_runs = np.zeros(n_gt, int)
    for t, (gt_ids_t, tracker_ids_t) in enumerate(zip(data["gt_ids"], data["tracker_ids"])):
        if len(gt_ids_t) == 0 or len(tracker_ids_t) == 0:
            continue  # TrackEval counts FP/FN here and leaves the previous-timestep matches as they are
        similarity = data["similarity_scores"][t]
        score_mat = tracker_ids_t[np.newaxis, :] == prev_timestep_tracker_id[gt_ids_t[:, np.newaxis]]
        score_mat = 1000 * score_mat + similarity
        score_mat[similarity < threshold - eps] = 0
        rows, cols = linear_sum_assignment(-score_mat)
        ok = score_mat[rows, cols] > 0 + eps
        rows, cols = rows[ok], cols[ok]
        matches[t] = (rows, cols)
        matched_gt, matched_trk = gt_ids_t[rows], tracker_ids_t[cols]
        before = prev_tracker_id[matched_gt]
        is_idsw = ~np.isnan(before) & (matched_trk != before)
        newly_tracked = np.isnan(prev_timestep_tracker_id[matched_gt])
        is_frag = newly_tracked & (tracked_runs[matched_gt] > 0)
        for i in np.flatnonzero(is_idsw | is_frag):
            g = int(matched_gt[i])
            base = {"t": t, "gt": g, "row": int(rows[i]), "col": int(cols[i]), "last_t": int(last_t[g]),
                    "before": int(before[i]), "after": int(matched_trk[i]), "iou": float(similarity[rows[i], cols[i]])}
            if is_idsw[i]:
                events.append({**base, "kind": "switch"})
            if is_frag[i]:
                events.append({**base, "kind": "frag"})
        idsw += int(is_idsw.sum())
        frag += int(is_frag.sum())
        tracked_runs[matched_gt] += newly_tracked
        prev_tracker_id[matched_gt] = matched_trk
        prev_timestep_tracker_id[:] = np.nan
        prev_timestep_tracker_id[matched_gt] = matched_trk
        last_t[matched_gt] = t
        tp += len(rows)
        if len(rows):
            motp_sum += float(sum(similarity[rows, cols]))
    return ClearReplay(matches, idsw, frag, tp, motp_sum), events


def visibility(gt: TextRows, benchmark: str) -> np.ndarray | None:
    """Each gt row's visibility as a 0-1 fraction, or None where the gt has none to give: the occlusion section's rule
    (bench.evaluate.occlusion: no visibility column, 1 everywhere as DanceTrack writes it, or a benchmark scored
    without classes); visibility in percent is scaled."""
    from bench.data.benchmarks import preprocesses, visibility_scale

    scale = visibility_scale(gt)
    if not preprocesses(benchmark) or scale is None or not len(gt.rows) or (gt.rows[:, 8] * scale == 1).all():
        return None
    return gt.rows[:, 8] * scale


def sequence_events(data: dict, gt: TextRows, res: TextRows, seq: str, benchmark: str) -> pd.DataFrame:
    """The error events of one sequence (see the module doc), from TrackEval's preprocessed data with row indices."""
    replay, raw = replay_clear(data)
    vis = visibility(gt, benchmark)
    rows_out = []
    for e in raw:
        t, g = e["t"], e["gt"]
        gt_row = int(data["gt_rows"][t][e["row"]])
        after_row = int(data["tracker_rows"][t][e["col"]])
        before_id = _tracker_file_id(data, res, e["last_t"], e["before"])
        other = _matched_gt_of(data, replay, t, e["before"])
        box = gt.rows[gt_row, 2:6]
        rows_out.append({
            "seq": seq, "kind": e["kind"], "frame": t + 1, "gt_id": int(gt.rows[gt_row, 1]),
            "track_before": before_id, "track_after": int(res.rows[after_row, 1]),
            "last_frame": e["last_t"] + 1, "gap": t - e["last_t"] - 1,
            "visibility": float(vis[gt_row]) if vis is not None else np.nan,
            "min_visibility": _min_visibility(data, vis, g, e["last_t"], t) if vis is not None else np.nan,
            "iou": e["iou"],
            "track_before_gt": float(gt.rows[other, 1]) if other is not None else np.nan,
            "x": float(box[0]), "y": float(box[1]), "w": float(box[2]), "h": float(box[3]),
        })
    return table(rows_out)


def _tracker_file_id(data: dict, res: TextRows, t: int, tracker: int) -> int:
    """The result file's id of relabelled tracker id `tracker`, read where it was matched at timestep t."""
    pos = np.flatnonzero(data["tracker_ids"][t] == tracker)
    return int(res.rows[int(data["tracker_rows"][t][pos[0]]), 1])


def _matched_gt_of(data: dict, replay: ClearReplay, t: int, tracker: int) -> int | None:
    """gt file row that relabelled tracker id `tracker` is matched to at timestep t, if any."""
    rows, cols = replay.matches[t]
    hit = np.flatnonzero(data["tracker_ids"][t][cols] == tracker)
    return int(data["gt_rows"][t][rows[hit[0]]]) if len(hit) else None


def _min_visibility(data: dict, vis: np.ndarray, g: int, t0: int, t1: int) -> float:
    seen = np.concatenate([vis[data["gt_rows"][t][data["gt_ids"][t] == g]] for t in range(t0, t1 + 1)])
    return float(seen.min()) if len(seen) else np.nan


def table(rows: list[dict] | pd.DataFrame) -> pd.DataFrame:
    """Events with the columns and integer types of `COLUMNS` (also for no events)."""
    df = pd.DataFrame(rows, columns=list(COLUMNS))
    return df.astype(_DTYPES) if len(df) else df.astype({**{c: "float64" for c in COLUMNS[6:]}, **_DTYPES})


def combine(per_seq: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """All sequences' events in sequence order (the run-level table; counts add up like IDSW and Frag do)."""
    parts = [df for df in per_seq.values() if len(df)]
    return table(pd.concat(parts, ignore_index=True)) if parts else table([])


def counts(events: pd.DataFrame) -> dict[str, int]:
    """{"IDs": switches, "Frag": fragmentations}: the TrackEval counts these events must equal."""
    return {"IDs": int((events["kind"] == "switch").sum()), "Frag": int((events["kind"] == "frag").sum())}


def check_counts(events: pd.DataFrame, idsw: int, frag: int, where: str) -> None:
    """The events' counts must be TrackEval's: a difference means the replay is not TrackEval's matching (a bug)."""
    got = counts(events)
    if got != {"IDs": int(idsw), "Frag": int(frag)}:
        raise RuntimeError(f"{where}: error events ({got}) differ from TrackEval's IDSW={idsw}, Frag={frag}")


def sequence_assignments(data: dict, gt: TextRows, res: TextRows) -> pd.DataFrame:
    """Every evaluated gt box with the result-file id TrackEval's CLEAR matching gives it (NaN: unmatched): frame
    (1-based), gt_id, track_id. What the identity timelines draw."""
    replay, _ = replay_clear(data)
    frames, gt_ids, track_ids = [], [], []
    for t, (rows, cols) in enumerate(replay.matches):
        g = gt.rows[data["gt_rows"][t], 1]
        trk = np.full(len(g), np.nan)
        trk[rows] = res.rows[data["tracker_rows"][t][cols], 1]
        frames.append(np.full(len(g), t + 1))
        gt_ids.append(g)
        track_ids.append(trk)
    cat = (lambda xs: np.concatenate(xs) if xs else np.zeros(0))
    return pd.DataFrame({"frame": cat(frames).astype(np.int64), "gt_id": cat(gt_ids).astype(np.int64),
                         "track_id": cat(track_ids)})


def assignments(results_dir, gt_root, seq: str, benchmark: str | None = None) -> pd.DataFrame:
    """`sequence_assignments` of `results_dir/<seq>.txt` against the gt (read and checked as `evaluate` does)."""
    from bench.evaluate import trackeval_adapter
    from bench.evaluate.inputs import load_inputs

    inputs = load_inputs(results_dir, gt_root, [seq], benchmark)
    data = trackeval_adapter.preprocess(inputs.results_dir, inputs.gt_root, seq, inputs.lengths[seq],
                                        inputs.benchmark, inputs.gts[seq], inputs.results[seq], rows=True)
    return sequence_assignments(data, inputs.gts[seq], inputs.results[seq])
