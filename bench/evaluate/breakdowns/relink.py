"""Re-link after occlusion, per tracker, sequence and gap-length bin (1-5, 6-15, 16-30, >30 frames).

For each gt track, frames from its first to its last gt box are walked; a frame is "seen" when the gt box is there,
matched, and its visibility is ≥ 0.1; a gap is a maximal run of frames that are not seen (box unmatched, visibility
< 0.1, or no gt box in that frame). A gap counts only when a seen frame lies right before and right after it (so gaps
at the start or end of a track are not counted); it is relinked when the tracker id after the gap equals the one
before it. gaps: counted gaps; relinked: those relinked; rate = relinked / gaps (NaN without gaps).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.evaluate.breakdowns import Breakdown, Column, SequenceData
from bench.evaluate.breakdowns.visibility import OCCLUSION_INTRO

GAP_BINS = ("1-5", "6-15", "16-30", ">30")
_GAP_EDGES = (6, 16, 31)  # a gap of n frames falls in bin digitize(n, edges)
SEEN_VISIBILITY = 0.1


class Relink(Breakdown):
    name = "occlusion_relink"
    short = "relink"  # its LaTeX label tab:relink and plot relink.png
    section = "Occlusion"
    intro = OCCLUSION_INTRO
    needs_visibility = True
    key, key_header = "gap_bin", "gap"
    counts = ("gaps", "relinked")
    columns = ("tracker", "gap_bin", "gaps", "relinked", "rate")
    shown = (
        Column("gaps", "gaps", 0),
        Column("relinked", "relinked", 0),
        Column("rate", "re-link rate", 1, 100.0, "higher", "re-link rate (%)"),
    )
    caption = "Re-link rate after an occlusion gap by gap length in frames ({context})."
    figure = "Re-link rate by occlusion gap length ({context})."
    plot_title = "Same id after an occlusion gap"
    plot_xlabel = "gap length (frames)"

    def eval_sequence(self, data: SequenceData) -> pd.DataFrame:
        """Walk every gt track over its span (frames without a gt box count as not seen) and score each inner gap."""
        lengths = np.zeros(0, np.int64)
        relinked = np.zeros(0, bool)
        for _, track in data.boxes.groupby("gt", sort=False):
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
        rows = [{"gap_bin": name, "gaps": int((bins == i).sum()), "relinked": int(relinked[bins == i].sum())}
                for i, name in enumerate(GAP_BINS)]
        return self.rates(pd.DataFrame(rows))

    def rates(self, counts: pd.DataFrame) -> pd.DataFrame:
        out = counts.copy()
        out["rate"] = out["relinked"] / out["gaps"].where(out["gaps"] > 0)
        return out
