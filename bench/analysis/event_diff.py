"""Which identity errors tracker A fixes and which it causes, against tracker B, on the same gt.

Both trackers' error events (`bench.evaluate.events`, from TrackEval's matching) are paired one to one within each
(sequence, gt id, kind): an A event and a B event pair when their frames differ by at most `window` frames, and the
pairing maximises the number of pairs, then minimises the frame differences (scipy's `linear_sum_assignment` on the
frame differences, pairs beyond the window forbidden). Unpaired B events were **fixed** by A, unpaired A events were
**caused** by A, paired ones are **both**. A fixed event is described by B's row (A had no such error), the others by
A's. Counts go by the event's visibility bin (the gt box's visibility at the event, as the occlusion section bins
switches) and gap bin (frames since the gt's last match: 0 = a switch between consecutive frames).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

WINDOW = 5  # frames: the same error seen a few frames apart by two trackers is one error
STATUSES = ("fixed", "caused", "both")
VIS_BINS = ("[0, .25)", "[.25, .5)", "[.5, .75)", "[.75, 1]")  # bench.evaluate.occlusion's bins (a test checks)
EVENT_GAP_BINS = ("0", "1-5", "6-15", "16-30", ">30")  # occlusion's gap bins, and 0 for consecutive frames
_VIS_EDGES = (0.25, 0.5, 0.75)
_GAP_EDGES = (1, 6, 16, 31)
NO_VISIBILITY = "n/a"


COLUMNS = ["status", "seq", "kind", "frame", "gt_id", "visibility", "min_visibility", "gap", "frame_a", "frame_b",
           "a_before", "a_after", "b_before", "b_after", "a_before_gt", "b_before_gt", "last_frame", "x", "y", "w", "h",
           "vis_bin", "gap_bin"]


def paired_diff(events: pd.DataFrame, a: str, b: str, window: int = WINDOW, seq: str | None = None) -> pd.DataFrame:
    """One row per fixed, caused or shared event: status, the describing tracker's event columns, `frame_a` and
    `frame_b` (NaN where that tracker has no such event), both trackers' ids before/after, and the bins.

    Rows are A's events in order (both or caused), then B's unpaired ones (fixed), stably sorted by sequence, frame,
    gt id, kind and status; built column by column (row by row: 0.2 s a pair on the default synth run, 2x this)."""
    ev = events if seq is None else events[events["seq"] == seq]
    ea, eb = ev[ev["tracker"] == a].reset_index(drop=True), ev[ev["tracker"] == b].reset_index(drop=True)
    if ea.empty and eb.empty:
        return pd.DataFrame([], columns=COLUMNS)
    pairs_a, pairs_b = _pair(ea, eb, window)
    match = np.full(len(ea), -1)
    match[pairs_a] = pairs_b
    fixed = np.setdiff1d(np.arange(len(eb)), pairs_b)
    # the describing event (A's for both/caused, B's for fixed) and each tracker's own event, NaN where it has none
    e = pd.concat([ea, eb.iloc[fixed]], ignore_index=True)
    own_a = np.concatenate([np.arange(len(ea)), np.full(len(fixed), -1)])
    own_b = np.concatenate([match, fixed])

    def of(side: pd.DataFrame, rows: np.ndarray, key: str) -> np.ndarray:
        values = side[key].to_numpy(dtype=np.float64)
        return np.where(rows >= 0, values[np.maximum(rows, 0)] if len(values) else np.nan, np.nan)

    visibility = e["visibility"].to_numpy(dtype=np.float64)
    gap = e["gap"].to_numpy(dtype=np.int64)
    out = pd.DataFrame({
        "status": np.concatenate([np.where(match >= 0, "both", "caused").astype(object),
                                  np.full(len(fixed), "fixed", dtype=object)]),
        "seq": e["seq"].to_numpy(dtype=object), "kind": e["kind"].to_numpy(dtype=object),
        "frame": e["frame"].to_numpy(dtype=np.int64), "gt_id": e["gt_id"].to_numpy(dtype=np.int64),
        "visibility": visibility, "min_visibility": e["min_visibility"].to_numpy(dtype=np.float64), "gap": gap,
        "frame_a": of(ea, own_a, "frame"), "frame_b": of(eb, own_b, "frame"),
        "a_before": of(ea, own_a, "track_before"), "a_after": of(ea, own_a, "track_after"),
        "b_before": of(eb, own_b, "track_before"), "b_after": of(eb, own_b, "track_after"),
        "a_before_gt": of(ea, own_a, "track_before_gt"), "b_before_gt": of(eb, own_b, "track_before_gt"),
        "last_frame": e["last_frame"].to_numpy(dtype=np.int64),
        **{k: e[k].to_numpy(dtype=np.float64) for k in ("x", "y", "w", "h")},
        "vis_bin": vis_bins(visibility), "gap_bin": gap_bins(gap),
    }, columns=COLUMNS)
    order = {s: i for i, s in enumerate(dict.fromkeys(events["seq"]))}
    out = out.assign(_o=out["seq"].map(order)).sort_values(["_o", "frame", "gt_id", "kind", "status"], kind="stable")
    return out.drop(columns="_o").reset_index(drop=True)


def _pair(ea: pd.DataFrame, eb: pd.DataFrame, window: int) -> tuple[list[int], list[int]]:
    from scipy.optimize import linear_sum_assignment

    pa: list[int] = []
    pb: list[int] = []
    keys = ["seq", "gt_id", "kind"]
    b_groups = {k: g.index.to_numpy() for k, g in eb.groupby(keys, sort=False)}
    for k, g in ea.groupby(keys, sort=False):
        ib = b_groups.get(k)
        if ib is None:
            continue
        ia = g.index.to_numpy()
        diff = np.abs(ea.loc[ia, "frame"].to_numpy()[:, None] - eb.loc[ib, "frame"].to_numpy()[None, :])
        allowed = diff <= window
        # most pairs first (a pair is worth more than any sum of frame differences), then the closest
        cost = np.where(allowed, diff - (window + 1) * (len(ia) + len(ib) + 1), 0)
        r, c = linear_sum_assignment(cost)
        keep = allowed[r, c]
        pa += ia[r[keep]].tolist()
        pb += ib[c[keep]].tolist()
    return pa, pb


def vis_bins(visibility: np.ndarray) -> np.ndarray:
    """Each visibility's bin label (NO_VISIBILITY where it is not finite)."""
    bins = np.asarray(VIS_BINS, dtype=object)[np.minimum(np.digitize(visibility, _VIS_EDGES), len(VIS_BINS) - 1)]
    return np.where(np.isfinite(visibility), bins, NO_VISIBILITY)


def gap_bins(gap: np.ndarray) -> np.ndarray:
    """Each gap's bin label (frames since the gt's last match)."""
    return np.asarray(EVENT_GAP_BINS, dtype=object)[np.digitize(gap, _GAP_EDGES)]


def diff_counts(diff: pd.DataFrame, by: str, kind: str = "switch") -> pd.DataFrame:
    """Counts of fixed / caused / both events of `kind` per bin (`by`: "vis_bin" or "gap_bin"), with a total row;
    net = fixed - caused (positive: A makes fewer such errors)."""
    bins = list(EVENT_GAP_BINS) if by == "gap_bin" else list(VIS_BINS)
    d = diff[diff["kind"] == kind]
    if by == "vis_bin" and (d["vis_bin"] == NO_VISIBILITY).any():
        bins.append(NO_VISIBILITY)
    table = pd.crosstab(d[by], d["status"]).reindex(index=bins, columns=list(STATUSES), fill_value=0)
    table.loc["total"] = table.sum()
    table["net"] = table["fixed"] - table["caused"]
    name = {"vis_bin": "visibility", "gap_bin": "gap"}[by]
    return table.rename_axis(name).reset_index().astype({s: int for s in (*STATUSES, "net")})


def top_events(diff: pd.DataFrame, status: str, n: int) -> pd.DataFrame:
    """The `n` ID switches of a status to show first: lowest visibility along the way first (the occlusion-driven
    ones), then the longest gap, then sequence order."""
    d = diff[(diff["status"] == status) & (diff["kind"] == "switch")]
    d = d.assign(_v=d["min_visibility"].fillna(1.0), _i=np.arange(len(d)))
    return d.sort_values(["_v", "gap", "_i"], ascending=[True, False, True], kind="stable").head(n).drop(
        columns=["_v", "_i"])
