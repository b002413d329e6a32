"""Score MOTChallenge-layout tracker results with TrackEval, cross-checked by py-motmetrics.

Inputs are read and checked once (`bench.evaluate.inputs`); TrackEval computes every reported number with its own
benchmark preprocessing (`bench.evaluate.trackeval_adapter`); py-motmetrics independently re-scores the very boxes TrackEval
scored (`bench.evaluate.crosscheck`). Sequences are scored in parallel worker processes when the input is large enough to
pay for them; the numbers do not depend on it. Warnings (sequences without gt objects) go to the caller's reporter;
the cross-check's one-line summary is `crosscheck.summary_line`, printed by the caller once per run.
"""

from __future__ import annotations

import math
import os
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.evaluate import crosscheck, events, trackeval_adapter
from bench.core.errors import BenchError
from bench.core.forked import can_fork, forked_map
from bench.evaluate.inputs import EvalInputs, load_inputs
from bench.core.progress import Reporter, SilentReporter
from bench.evaluate.trackeval_adapter import COUNT_COLUMNS, RATE_COLUMNS

# Below this, forking workers costs more than it saves: on 2 cores, 2 sequences, they broke even at ~2-3k boxes
# (also in a process holding torch and 2 GB) and won 0.089 s against 0.114 s at 4k boxes
# (benchmarks/eval_speed.py --frames 100 --people 10: "bench evaluate()" against "evaluate(jobs=1)").
PARALLEL_MIN_BOXES = 4_000


def parallel_jobs(inputs: list[EvalInputs]) -> int:
    """Forked workers for per-sequence evaluation work on `inputs` (the scores, the breakdowns): one per core when
    they hold PARALLEL_MIN_BOXES gt and result boxes or more, else 1. The numbers do not depend on it (tested)."""
    boxes = sum(len(i.gts[s].rows) + len(i.results[s].rows) for i in inputs for s in i.seqs)
    return (os.cpu_count() or 1) if boxes >= PARALLEL_MIN_BOXES else 1


@dataclass
class EvalResult:
    metrics: pd.DataFrame  # per sequence + "COMBINED" (index "seq"); rates in 0-1, counts as ints
    crosscheck: pd.DataFrame  # per sequence + "COMBINED": TrackEval vs motmetrics values, max_abs_diff, agree
    disagreements: list[str] = field(default_factory=list)  # empty when everything agrees within crosscheck.AGREEMENT_TOL
    benchmark: str = "MOT17"
    sequences: list[str] = field(default_factory=list)  # what COMBINED covers
    benchmark_reason: str = ""  # one line: which benchmark's rules scored it and why
    events: pd.DataFrame | None = None  # evaluate(with_events=True): bench.evaluate.events' table, no tracker column

    @property
    def agrees(self) -> bool:
        """True when TrackEval and py-motmetrics agree on every sequence (the flag runners should check)."""
        return not self.disagreements


PARTS = ("trackeval", "crosscheck")


def score_sequence(inputs: EvalInputs, seq: str, parts: tuple[str, ...] = PARTS) -> dict[str, dict]:
    """{"trackeval": per-metric results, "crosscheck": motmetrics' partial summary} for one sequence (the parts
    asked for). Both start from TrackEval's preprocessed data; a plain function of its inputs, run in a worker
    process as it is."""
    data = trackeval_adapter.preprocess(inputs.results_dir, inputs.gt_root, seq, inputs.lengths[seq], inputs.benchmark,
                                        inputs.gts[seq], inputs.results[seq], rows="events" in parts)
    out: dict[str, dict] = {}
    if "trackeval" in parts:
        out["trackeval"] = trackeval_adapter.score(data)
    if "crosscheck" in parts:
        part = crosscheck.partial(crosscheck.accumulate(data))
        out["crosscheck"] = {k: v for k, v in part.items() if np.isscalar(v)}  # all that compute_overall needs
    if "events" in parts:
        out["events"] = events.sequence_events(data, inputs.gts[seq], inputs.results[seq], seq, inputs.benchmark)
    return out


def _score_all(inputs: EvalInputs, jobs: int | None, with_events: bool = False) -> dict[str, dict[str, dict]]:
    """{seq: {part: result}}. In parallel: one task per sequence, or per sequence and part when there are cores
    for that (each part then preprocesses on its own, which costs less than waiting for the other). Error events
    (`with_events`) are computed with TrackEval's part, on the same preprocessed data."""
    extra = ("events",) if with_events else ()
    if jobs is None:
        jobs = parallel_jobs([inputs])
    if jobs <= 1 or not can_fork():
        return {s: score_sequence(inputs, s, PARTS + extra) for s in inputs.seqs}
    split = jobs >= len(PARTS) * len(inputs.seqs)
    tasks = [(s, ((p,) + (extra if p == "trackeval" else ())) if split else PARTS + extra)
             for s in inputs.seqs for p in (PARTS if split else PARTS[:1])]
    # Forked workers (bench.core.forked) start with the inputs in place; only the small per-sequence results come
    # back. They run numpy, TrackEval and motmetrics only.
    crosscheck.warm_up()  # motmetrics imported and its metrics registered once, here, not in every worker
    done = forked_map(lambda task: score_sequence(inputs, *task), tasks, jobs)
    out: dict[str, dict[str, dict]] = {s: {} for s in inputs.seqs}
    for (s, _), result in zip(tasks, done):
        out[s].update(result)
    return out


def evaluate(results_dir: Path, gt_root: Path, seqs: list[str] | None = None, benchmark: str | None = None,
             tracker_name: str = "tracker", reporter: Reporter | None = None, jobs: int | None = None,
             benchmark_source: str = "the benchmark setting", with_events: bool = False) -> EvalResult:
    """results_dir/<SEQ>.txt against gt_root/<SEQ>/gt/gt.txt (seq length from gt_root/<SEQ>/seqinfo.ini when present,
    otherwise the largest frame in gt or results).

    seqs=None → every <SEQ> folder in gt_root that has gt/gt.txt, and each needs a result file (no partial scoring
    unless the subset is named). benchmark None or "auto" → bench.data.benchmarks.choose. jobs=None → parallel over
    sequences for large inputs (one process per core). Disagreements with py-motmetrics go into the result; a warning
    about sequences without gt objects goes to `reporter` (silent by default). with_events → `result.events`: every
    ID switch and fragmentation (bench.evaluate.events), whose counts are checked against TrackEval's IDSW and Frag
    per sequence."""
    inputs = load_inputs(Path(results_dir), Path(gt_root), seqs, benchmark, benchmark_source)
    import trackeval

    try:
        scored = _score_all(inputs, jobs, with_events)
    except trackeval.utils.TrackEvalException as e:  # validation should make this unreachable
        raise BenchError(f"TrackEval could not evaluate these results: {e}", inputs.results_dir) from None
    except BrokenProcessPool:  # a worker was killed from outside: the OOM killer, most often
        raise BenchError(f"a process scoring {len(inputs.seqs)} sequences in parallel was killed from outside "
                         "(most often by the system when memory runs out); nothing was written",
                         inputs.results_dir, hint="free memory, or score fewer sequences at once (--seqs)") from None
    te = {s: scored[s]["trackeval"] for s in inputs.seqs}
    te["COMBINED"] = trackeval_adapter.combine(te)
    metrics = pd.DataFrame([{"seq": s, **trackeval_adapter.metrics_row(te[s])} for s in [*inputs.seqs, "COMBINED"]])
    metrics = metrics.set_index("seq")[list(RATE_COLUMNS + COUNT_COLUMNS)]
    mm_summary = crosscheck.summary({s: scored[s]["crosscheck"] for s in inputs.seqs})
    check, disagreements = crosscheck.compare(metrics, mm_summary)
    reporter = reporter or SilentReporter()
    empty_warning = _empty_gt_warning(te, metrics, tracker_name)
    if empty_warning:
        reporter.message(empty_warning)
    table = None
    if with_events:
        for s in inputs.seqs:
            events.check_counts(scored[s]["events"], te[s]["CLEAR"]["IDSW"], te[s]["CLEAR"]["Frag"],
                                f"{tracker_name} {s}")
        table = events.combine({s: scored[s]["events"] for s in inputs.seqs})
    return EvalResult(metrics=metrics, crosscheck=check, disagreements=disagreements, benchmark=inputs.benchmark,
                      sequences=list(inputs.seqs), benchmark_reason=inputs.benchmark_reason, events=table)


def _empty_gt_warning(te: dict[str, dict], metrics: pd.DataFrame, tracker_name: str) -> str | None:
    """One line when some sequences have no gt objects: MOTA, recall and HOTA mean nothing there (TrackEval reports
    0), while their tracker boxes are all false positives and weigh on COMBINED: say by how much."""
    seqs = [s for s in te if s != "COMBINED"]
    empty = [s for s in seqs if metrics.at[s, "GT_Dets"] == 0]
    if not empty:
        return None
    fp = int(sum(metrics.at[s, "FP"] for s in empty))
    with_them = metrics.loc["COMBINED"]
    effect = f"COMBINED MOTA {100 * with_them['MOTA']:.1f}, HOTA {100 * with_them['HOTA']:.1f} with them"
    rest = [s for s in seqs if s not in empty]
    if rest:
        without = trackeval_adapter.metrics_row(trackeval_adapter.combine({s: te[s] for s in rest}))
        effect += f"; {100 * without['MOTA']:.1f} and {100 * without['HOTA']:.1f} without them"
    else:
        effect += " (no sequence has gt objects: COMBINED MOTA is minus the false positives, not a score)"
    names = ", ".join(empty[:5]) + (f" and {len(empty) - 5} more" if len(empty) > 5 else "")
    return (f"warning ({tracker_name}): {len(empty)} of {len(seqs)} sequences have no gt objects ({names}): their "
            f"{fp} tracker boxes all count as false positives — {effect}")


def _jsonable(value: Any) -> Any:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else None  # strict JSON has no NaN/inf
    return value


def _table_json(df: pd.DataFrame) -> dict[str, dict[str, Any]]:
    records = df.to_dict(orient="index")  # keeps each column's own type (iterrows would turn ints into floats)
    return {str(seq): {str(k): _jsonable(v) for k, v in row.items()} for seq, row in records.items()}


def result_to_json(result: EvalResult) -> dict:
    """JSON-able form of an EvalResult (for `bench eval --json`); NaN/inf become null."""
    return {
        "benchmark": result.benchmark,
        "benchmark_reason": result.benchmark_reason,
        "sequences": list(result.sequences),  # the sequences COMBINED covers
        "metrics": _table_json(result.metrics),
        "crosscheck": _table_json(result.crosscheck),
        "disagreements": list(result.disagreements),
        "agrees": result.agrees,
    }
