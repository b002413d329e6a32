"""Breakdowns of the metrics, shaped like TrackEval's metrics: a per-sequence step and a combine step.

Each breakdown is a class (`Breakdown`) whose `eval_sequence` turns one tracker's result on one sequence into rows
of counts (one row per bin), and whose `combine_sequences` sums those counts over sequences (or over the seeds of
an ablation variant) and recomputes its rates; it never combines rates. `compute` runs every registered breakdown in
the evaluation stage, so the run record (`bench.core.record`) stores both tables and `bench report` renders them
without the suite. The presentation (columns, directions, captions, plot) is declared beside the computation, so
the report finds a new breakdown on its own.

Adding a breakdown: a module in this folder with a `Breakdown` subclass, and its "module:Class" in `REGISTERED`.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from bench.core.record import BreakdownTables

REGISTERED = (
    "bench.evaluate.breakdowns.visibility:VisibilityBins",
    "bench.evaluate.breakdowns.relink:Relink",
)


@dataclass(frozen=True)
class Column:
    """A shown column of a breakdown's combined table."""

    source: str  # column of the combined table
    header: str  # as the report shows it
    digits: int
    scale: float = 1.0  # 100 for a share shown in %
    direction: str | None = None  # "higher" | "lower": arrow in the header, best per bin in bold
    plot: str | None = None  # y-axis label when the column is plotted


class SequenceData:
    """What a breakdown may read of one tracker on one sequence; the matching is made once and shared."""

    def __init__(self, inputs: Any, seq: str) -> None:
        self.inputs, self.seq = inputs, seq

    @functools.cached_property
    def boxes(self) -> pd.DataFrame:
        """bench.evaluate.occlusion.sequence_boxes: every evaluated gt box with its match and visibility."""
        from bench.evaluate.occlusion import sequence_boxes

        return sequence_boxes(self.inputs, self.seq)


class Breakdown:
    """Base of a breakdown. Subclasses set the class attributes and `eval_sequence`; `rates` turns summed counts
    into the table's rates."""

    name: ClassVar[str]  # file stem of its tables in the run folder
    short: ClassVar[str]  # its LaTeX label (tab:<short>) and plot file (<short>.png)
    section: ClassVar[str]  # report heading; breakdowns with one section share it
    intro: ClassVar[str]  # the section's definitions (shown once per section)
    needs_visibility: ClassVar[bool] = False  # skipped (with the reason) when the gt has no visibility
    key: ClassVar[str]  # the bin column
    key_header: ClassVar[str]
    counts: ClassVar[tuple[str, ...]]  # summed over sequences
    columns: ClassVar[tuple[str, ...]]  # of the combined table, in order (tracker first)
    shown: ClassVar[tuple[Column, ...]]
    caption: ClassVar[str]  # table caption; "{context}" is filled in
    figure: ClassVar[str]  # figure caption
    plot_title: ClassVar[str]
    plot_xlabel: ClassVar[str]

    def eval_sequence(self, data: SequenceData) -> pd.DataFrame:
        """One row per bin: the key and the counts (and the rates, for reading one sequence)."""
        raise NotImplementedError

    def rates(self, counts: pd.DataFrame) -> pd.DataFrame:
        raise NotImplementedError

    def combine_sequences(self, per_seq: pd.DataFrame) -> pd.DataFrame:
        """Counts summed per (tracker, bin) in first-seen order, rates recomputed from the sums."""
        summed = per_seq.groupby(["tracker", self.key], sort=False)[list(self.counts)].sum().reset_index()
        return self.rates(summed)[list(self.columns)]


@functools.cache
def breakdowns() -> tuple[Breakdown, ...]:
    """The registered breakdowns, in report order."""
    out = []
    for spec in REGISTERED:
        module, _, cls = spec.partition(":")
        out.append(getattr(importlib.import_module(module), cls)())
    return tuple(out)


def no_visibility_reason(inputs: Any) -> str:
    """Why visibility cannot stratify this gt ('' when it can): a protocol scored without classes (MOT15, none), gt
    without a visibility column (8-column, MOT15-style) or with visibility 1 everywhere (DanceTrack)."""
    from bench.data.benchmarks import preprocesses, visibility_scale

    scales = {s: visibility_scale(inputs.gts[s]) for s in inputs.seqs}
    if (not preprocesses(inputs.benchmark) or any(v is None for v in scales.values())
            or all((inputs.gts[s].rows[:, 8] * scales[s] == 1).all() for s in inputs.seqs)):
        return ("the ground truth has no visibility column (as in MOT15 and DanceTrack), so boxes cannot be binned "
                "by occlusion")
    return ""


def compute(results: dict[str, Path], gt_root: Path, seqs: list[str], benchmark: str | None = None
            ) -> tuple[dict[str, BreakdownTables], dict[str, str]]:
    """Every registered breakdown of the result folders (tracker → folder of <SEQ>.txt): the tables of those
    computed, and for each breakdown '' or why it was not computed."""
    from bench.core.forked import can_fork, forked_map
    from bench.evaluate import crosscheck
    from bench.evaluate.inputs import load_inputs
    from bench.evaluate.score import parallel_jobs

    rows: dict[str, list[pd.DataFrame]] = {b.name: [] for b in breakdowns()}
    reasons = {b.name: "" for b in breakdowns()}
    inputs, todo = {}, {}
    for tracker, folder in results.items():
        inputs[tracker] = load_inputs(Path(folder), Path(gt_root), list(seqs), benchmark)
        why_not = no_visibility_reason(inputs[tracker])
        todo[tracker] = []
        for b in breakdowns():
            if b.needs_visibility and why_not:
                reasons[b.name] = why_not
            else:
                todo[tracker].append(b)

    def unit(task: tuple[str, str]) -> list[tuple[str, pd.DataFrame]]:
        tracker, s = task
        data = SequenceData(inputs[tracker], s)
        return [(b.name, b.eval_sequence(data).assign(tracker=tracker, seq=s)) for b in todo[tracker]]

    # one unit per (tracker, sequence), in forked workers for large inputs as the scores are (bench.evaluate.score):
    # plain functions of the inputs, so the tables do not depend on it
    units = [(t, s) for t in results for s in seqs]
    jobs = min(parallel_jobs(list(inputs.values())), len(units))
    if jobs > 1 and can_fork():
        crosscheck.warm_up()  # motmetrics registered once in the parent, not in every worker
        done = forked_map(unit, units, jobs)
    else:
        done = [unit(u) for u in units]
    for part in done:
        for name, table in part:
            rows[name].append(table)
    tables = {}
    for b in breakdowns():
        if reasons[b.name] or not rows[b.name]:
            continue
        per_seq = pd.concat(rows[b.name], ignore_index=True)
        per_seq = per_seq[["tracker", "seq", *(c for c in per_seq.columns if c not in ("tracker", "seq"))]]
        tables[b.name] = BreakdownTables(per_seq, b.combine_sequences(per_seq))
    return tables, reasons


def pool(runs: dict[str, dict[str, BreakdownTables]], entry_of: dict[str, str], reasons: dict[str, str]
         ) -> tuple[dict[str, BreakdownTables], dict[str, str]]:
    """Breakdowns of several runs (e.g. an ablation's variants × seeds) combined per entry: each run's
    per-sequence counts relabelled with its entry (`entry_of[run]`) and summed. The per-sequence table keeps each
    row's run key in a `run` column, so seeds can be told apart (method-level occlusion claims). A breakdown missing
    from any run is left out, with that run's reason (`reasons`) or 'not stored with the run'."""
    tables, why = {}, {}
    for b in breakdowns():
        missing = [r for r, t in runs.items() if b.name not in t or t[b.name].per_seq is None]
        if missing or not runs:
            why[b.name] = reasons.get(b.name) or (f"run {missing[0]} has no stored {b.name} table" if missing
                                                  else "no run to pool")
            continue
        per_seq = pd.concat([t[b.name].per_seq.assign(tracker=entry_of[r], run=r) for r, t in runs.items()],
                            ignore_index=True)
        tables[b.name], why[b.name] = BreakdownTables(per_seq, b.combine_sequences(per_seq)), ""
    return tables, why
