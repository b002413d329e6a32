"""`bench inspect RUN --a A --b B [--seq S]`: the ID switches tracker A fixes and causes against tracker B in a run
(bench.analysis.event_diff on the run's events.csv), with strips of the top ones and identity timelines."""

from __future__ import annotations

from pathlib import Path

from bench.core.errors import BenchError
from bench.present.errors_section import PairErrors, analyse_pair, load_events, safe_name
from bench.present.report import load_metrics


def inspect_pair(run_dir: Path, a: str, b: str, seqs: list[str] | None = None, top: int = 12,
                 pictures: bool = True) -> PairErrors:
    """The pair's diff, counts and pictures; written under `errors/<A>-vs-<B>/` (`.../seq-<names>/` with --seq)."""
    metrics, manifest = load_metrics(run_dir)
    trackers = [t for t in manifest.trackers if t in set(metrics["tracker"])]
    for name, flag in ((a, "--a"), (b, "--b")):
        if name not in trackers:
            raise BenchError(f"{flag} {name!r}: no such tracker in this run", run_dir,
                             hint=f"the run has: {', '.join(trackers)}")
    if a == b:
        raise BenchError("--a and --b name the same tracker", hint="compare two different trackers")
    suite = manifest.suite
    if seqs:
        unknown = [s for s in seqs if s not in suite.sequences]
        if unknown:
            raise BenchError(f"--seq {unknown[0]!r}: not a sequence of this run", run_dir,
                             hint=f"the run's sequences: {', '.join(suite.sequences)}")
    if not Path(suite.root).is_dir():
        raise BenchError("the run's ground truth is no longer there", Path(suite.root),
                         hint="inspect needs the gt the run was scored on (manifest.json: suite.root)")
    events = load_events(run_dir, trackers, suite)
    sub = "seq-" + "+".join(safe_name(s) for s in seqs) if seqs else ""
    return analyse_pair(run_dir, events, a, b, suite, top, seqs or None, pictures, subfolder=sub)
