"""A breakdown is one class plus its registration: the evaluation stage computes it per sequence and combined, the
run record stores both, and the report renders it, with no other file touched."""

from __future__ import annotations

import pandas as pd
import pytest

from bench.core.record import RunRecord
from bench.evaluate import breakdowns as registry
from bench.evaluate.breakdowns import Breakdown, Column, SequenceData
from bench.present.report import write_report

from .test_occlusion import _case


class MatchedByFrameHalf(Breakdown):
    """Matched gt boxes in the first and second half of each sequence (a toy, registered only by this test)."""

    name = "matched_by_half"
    short = "half"
    section = "Sequence halves"
    intro = "Share of gt boxes matched in each half of a sequence."
    key, key_header = "half", "half"
    counts = ("gt_boxes", "matched")
    columns = ("tracker", "half", "gt_boxes", "matched", "recall")
    shown = (Column("gt_boxes", "gt boxes", 0), Column("recall", "recall", 1, 100.0, "higher", "recall (%)"))
    caption = "Recall by sequence half ({context})."
    figure = "Recall by sequence half ({context})."
    plot_title, plot_xlabel = "Recall by half", "half"

    def eval_sequence(self, data: SequenceData) -> pd.DataFrame:
        b = data.boxes
        late = b["frame"] >= data.inputs.lengths[data.seq] // 2
        rows = [{"half": h, "gt_boxes": int(m.sum()), "matched": int((b["hid"].notna() & m).sum())}
                for h, m in (("first", ~late), ("second", late))]
        return self.rates(pd.DataFrame(rows))

    def rates(self, counts: pd.DataFrame) -> pd.DataFrame:
        return counts.assign(recall=counts["matched"] / counts["gt_boxes"].where(counts["gt_boxes"] > 0))


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setattr(registry, "REGISTERED", (*registry.REGISTERED, f"{__name__}:MatchedByFrameHalf"))
    registry.breakdowns.cache_clear()
    yield
    registry.breakdowns.cache_clear()


def test_a_registered_breakdown_is_computed_stored_and_reported(tmp_path, registered):
    from bench.commands.compare import compare_folders

    gt_root, results, _ = _case(tmp_path)
    run = compare_folders(results, gt_root, tmp_path / "results", run_id="c")
    assert run.manifest.breakdowns == {"occlusion_visibility": "", "occlusion_relink": "", "matched_by_half": ""}
    stored = RunRecord.load(run.run_dir).breakdowns["matched_by_half"]
    assert stored.per_seq[["tracker", "seq", "half"]].values.tolist() == [
        ["hand", "OCC", "first"], ["hand", "OCC", "second"], ["perfect", "OCC", "first"], ["perfect", "OCC", "second"]]
    perfect = stored.combined[stored.combined["tracker"] == "perfect"]
    assert (perfect["recall"] == 1).all() and perfect["gt_boxes"].sum() == 100  # every evaluated gt box once
    vis = RunRecord.load(run.run_dir).breakdowns["occlusion_visibility"].combined
    assert perfect["gt_boxes"].sum() == vis[vis["tracker"] == "perfect"]["gt_boxes"].sum()
    write_report(run.run_dir, published=False)
    md = (run.run_dir / "report.md").read_text()
    assert "## Sequence halves" in md and "Recall by sequence half" not in md and "| second" in md
    assert (run.run_dir / "half.png").is_file() and "tab:half" in (run.run_dir / "report.tex").read_text()
