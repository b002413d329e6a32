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


def paired_diff(events: pd.DataFrame, a: str, b: str, window: int = WINDOW, seq: str | None = None) -> pd.DataFrame:
    """One row per fixed, caused or shared event: status, the describing tracker's event columns, `frame_a` and
    `frame_b` (NaN where that tracker has no such event), both trackers' ids before/after, and the bins."""
    ev = events if seq is None else events[events["seq"] == seq]
    ea, eb = ev[ev["tracker"] == a].reset_index(drop=True), ev[ev["tracker"] == b].reset_index(drop=True)
    pairs_a, pairs_b = _pair(ea, eb, window)
    rows = []
    paired_b = dict(zip(pairs_a, pairs_b))
    for i, e in ea.iterrows():
        j = paired_b.get(i)
        other = eb.loc[j] if j is not None else None
        rows.append(_row("both" if other is not None else "caused", e, e, other))
    for j in sorted(set(range(len(eb))) - set(pairs_b)):
        rows.append(_row("fixed", eb.loc[j], None, eb.loc[j]))
    cols = ["status", "seq", "kind", "frame", "gt_id", "visibility", "min_visibility", "gap", "frame_a", "frame_b",
            "a_before", "a_after", "b_before", "b_after", "a_before_gt", "b_before_gt", "last_frame", "x", "y", "w",
            "h", "vis_bin", "gap_bin"]
    out = pd.DataFrame(rows, columns=cols)
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


def _row(status: str, e: pd.Series, ev_a: pd.Series | None, ev_b: pd.Series | None) -> dict:
    def get(ev: pd.Series | None, key: str) -> float:
        return float(ev[key]) if ev is not None else np.nan

    return {
        "status": status, "seq": e["seq"], "kind": e["kind"], "frame": int(e["frame"]), "gt_id": int(e["gt_id"]),
        "visibility": float(e["visibility"]), "min_visibility": float(e["min_visibility"]), "gap": int(e["gap"]),
        "frame_a": get(ev_a, "frame"), "frame_b": get(ev_b, "frame"),
        "a_before": get(ev_a, "track_before"), "a_after": get(ev_a, "track_after"),
        "b_before": get(ev_b, "track_before"), "b_after": get(ev_b, "track_after"),
        "a_before_gt": get(ev_a, "track_before_gt"), "b_before_gt": get(ev_b, "track_before_gt"),
        "last_frame": int(e["last_frame"]), "x": float(e["x"]), "y": float(e["y"]), "w": float(e["w"]),
        "h": float(e["h"]), "vis_bin": vis_bin(float(e["visibility"])), "gap_bin": gap_bin(int(e["gap"])),
    }


def vis_bin(v: float) -> str:
    return NO_VISIBILITY if not np.isfinite(v) else VIS_BINS[int(np.digitize(v, _VIS_EDGES))]


def gap_bin(gap: int) -> str:
    return EVENT_GAP_BINS[int(np.digitize(gap, _GAP_EDGES))]


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
