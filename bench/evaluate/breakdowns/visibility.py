"""Metrics by gt visibility bin ([0, .25), [.25, .5), [.5, .75), [.75, 1]; each gt box by its own visibility).

Per tracker, sequence and bin (counts; see bench.evaluate.occlusion for the matching):
- gt_boxes: gt boxes in the bin; matched: those the CLEAR matching paired with a tracker box (MATCH or SWITCH event);
  recall = matched / gt_boxes.
- id_switches: motmetrics' SWITCH events, counted in the bin of the gt box where the switch happens;
  idsw_per_100 = 100 · id_switches / matched.
- consistent: matched boxes whose tracker id is the one their gt track is assigned to under the global IDF1 matching;
  id_consistency = consistent / matched (gt tracks left unassigned count as inconsistent).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.evaluate.breakdowns import Breakdown, Column, SequenceData

VIS_BINS = ("[0, .25)", "[.25, .5)", "[.5, .75)", "[.75, 1]")
_VIS_EDGES = (0.25, 0.5, 0.75)

OCCLUSION_INTRO = (
    "Every gt box is joined with the evaluation's match (IoU ≥ 0.5) and binned by its visibility. Recall = "
    "matched / gt boxes; IDsw/100 = ID switches per 100 matched boxes; ID consistency = share of matched boxes "
    "whose tracker id is the one the gt track gets in the global IDF1 matching. Re-link rate = share of gaps "
    "(runs of frames where the gt track is unmatched or its visibility < 0.1, with a matched frame on each side) "
    "after which it gets back the tracker id it had before the gap."
)


class VisibilityBins(Breakdown):
    name = "occlusion_visibility"
    short = "visibility"  # its LaTeX label tab:visibility and plot visibility.png
    section = "Occlusion"
    intro = OCCLUSION_INTRO
    needs_visibility = True
    key, key_header = "bin", "bin"
    counts = ("gt_boxes", "matched", "id_switches", "consistent")
    columns = ("tracker", "bin", "gt_boxes", "matched", "recall", "id_switches", "idsw_per_100", "id_consistency")
    shown = (
        Column("gt_boxes", "gt boxes", 0),
        Column("matched", "matched", 0),
        Column("recall", "recall", 1, 100.0, "higher", "recall (%)"),
        Column("idsw_per_100", "IDsw/100", 2, 1.0, "lower", "ID switches per 100 matched"),
        Column("id_consistency", "ID consistency", 1, 100.0, "higher", "ID consistency (%)"),
    )
    caption = "Metrics by gt visibility bin ({context}); rates in %."
    figure = "Recall, ID switches per 100 matched boxes and ID consistency by visibility ({context})."
    plot_title = "Metrics by gt visibility bin"
    plot_xlabel = "visibility"

    def eval_sequence(self, data: SequenceData) -> pd.DataFrame:
        boxes = data.boxes
        bins = np.digitize(boxes["vis"].to_numpy(), _VIS_EDGES)
        rows = []
        for i, name in enumerate(VIS_BINS):
            b = boxes[bins == i]
            rows.append({"bin": name, "gt_boxes": len(b), "matched": int(b["hid"].notna().sum()),
                         "id_switches": int(b["switch"].sum()), "consistent": int(b["consistent"].sum())})
        return self.rates(pd.DataFrame(rows))

    def rates(self, counts: pd.DataFrame) -> pd.DataFrame:
        out = counts.copy()
        matched = out["matched"].where(out["matched"] > 0)
        out["recall"] = out["matched"] / out["gt_boxes"].where(out["gt_boxes"] > 0)
        out["idsw_per_100"] = 100 * out["id_switches"] / matched
        out["id_consistency"] = out["consistent"] / matched
        return out
