"""The evaluation stage of a run (`bench run`, `bench compare`): each tracker's result folder scored by TrackEval and
cross-checked by py-motmetrics, and every registered breakdown computed, per sequence and combined. Torch-free."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bench.core.progress import Alert, Reporter
from bench.core.record import CROSSCHECK, BreakdownTables, write_events
from bench.evaluate.breakdowns import compute
from bench.evaluate.crosscheck import summary_line as crosscheck_summary
from bench.evaluate.score import evaluate


def evaluate_trackers(
    folder: Path, trackers: list[str], gt_root: Path, seqs: list[str], benchmark: str | None, reporter: Reporter,
    fps: dict[str, dict[str, float]] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Metrics (one row per tracker and sequence, COMBINED included; FPS where given) and the py-motmetrics
    cross-check of the result folders `folder/<tracker>/`, stacked, and the benchmark they were scored as. Every
    tracker's ID switches and fragmentations (bench.evaluate.events) are stored in the folder's record."""
    tables, checks, scored_as, events = [], [], benchmark, []
    for name in trackers:
        result = evaluate(folder / name, gt_root, seqs=seqs, benchmark=benchmark, tracker_name=name,
                          reporter=reporter, with_events=True)
        events.append(result.events.assign(tracker=name))
        scored_as = result.benchmark
        table = result.metrics.copy()
        if fps is not None:
            table["FPS"] = [fps[name].get(str(i), np.nan) for i in table.index]
        table.insert(0, "tracker", name)
        tables.append(table.reset_index())
        check = result.crosscheck.copy()
        check.insert(0, "tracker", name)
        checks.append(check.reset_index())
    table = pd.concat(events, ignore_index=True)
    write_events(folder, table[["tracker", *table.columns.drop("tracker")]])
    return pd.concat(tables, ignore_index=True), pd.concat(checks, ignore_index=True), scored_as


def evaluate_breakdowns(folder: Path, trackers: list[str], gt_root: Path, seqs: list[str], benchmark: str | None
                        ) -> tuple[dict[str, BreakdownTables], dict[str, str]]:
    """Every registered breakdown (`bench.evaluate.breakdowns`) of the result folders `folder/<tracker>/`: per
    sequence and combined, stored with the run so a report never needs the suite; and why any was not computed."""
    return compute({t: folder / t for t in trackers}, gt_root, seqs, benchmark)


def report_crosscheck(checks: pd.DataFrame, run_dir: Path, reporter: Reporter) -> None:
    """The cross-check as one line per run (red only for a real disagreement); the detail is in crosscheck.csv."""
    text, ok = crosscheck_summary(checks, f"per sequence in {run_dir / CROSSCHECK}")
    reporter.message(text if ok else Alert(text))
