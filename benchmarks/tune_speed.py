"""Seconds per `bench tune` trial and trials/min for each tracker, one process, warm (issue 21: ByteTrack < 2 s on
synth's 3 train sequences). A trial is what `bench tune` runs per sampled parameter set: track every tuning sequence
(`bench.commands.tune.score_unit`: tracking + writing and parsing the result file + TrackEval) and combine. The baseline in
the same run is the tracker-only time, so the printed share says how much of a trial is tracking vs scoring.

    PYTHONPATH=. python benchmarks/tune_speed.py [--suite synth] [--trackers bytetrack,deepsort,finetrack] [--repeats 5]

Needs the suite's Re-ID checkpoints for appearance trackers (trained on first use, as `bench run` does)."""

from __future__ import annotations

import argparse
import statistics
import time

from bench.commands import tune
from bench.core.config import load_config
from bench.data.suites import load_suite


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--suite", default="synth")
    ap.add_argument("--trackers", default="bytetrack,deepsort,finetrack")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    cfg = load_config(None, [f"run.suite='{args.suite}'"])
    suite = load_suite(cfg.run.suite, cfg)
    for tracker in args.trackers.split(","):
        data = tune.prepare(cfg, suite, tracker)
        walls, tracking = [], []
        for rep in range(args.repeats + 1):  # the first is warm-up (numba load, TrackEval imports)
            t0, secs, per = time.perf_counter(), 0.0, {}
            for s in data.seqs:
                unit = tune.TrialUnit(rep, tracker, data.base, s, cfg.output.min_box_area,
                                      cfg.output.aspect_ratio_thresh, data.view.benchmark, cfg.cache_dir / "tune-scratch")
                _, name, scored, sec = tune.score_unit(unit)
                per[name], secs = scored, secs + sec
            value = tune.combined_metrics(per)[cfg.tune.metric]
            if rep:
                walls.append(time.perf_counter() - t0)
                tracking.append(secs)
        wall = statistics.median(walls)
        print(f"{tracker:10s} {len(data.seqs)} seqs: {wall:.2f} s/trial ({60 / wall:.0f} trials/min, one job), "
              f"tracking {statistics.median(tracking) / wall:.0%} of it; {cfg.tune.metric} {100 * value:.2f}")


if __name__ == "__main__":
    main()
