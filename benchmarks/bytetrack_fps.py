"""Tracker-only speed of ByteTrack on the five MOT15 det files, against an IoU + lapjv floor.

Detections are preloaded and split by frame; only `update()` calls are timed (median of --repeats runs).
Baseline, timed the same way in the same run: per frame, the IoU distance between the previous and current
frame's detections plus one lap.lapjv(extend_cost=True, cost_limit=0.9) call (`lapjv_assignment`, which always
runs lapjv; the trackers' `linear_assignment` skips it when the assignment is forced), i.e. the matching work any
IoU tracker does, with no Kalman filter or bookkeeping. "x baseline" = ByteTrack time / baseline time.

Run from the repo root: .venv/bin/python benchmarks/bytetrack_fps.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.data.mot_io import read_detections, split_by_frame  # noqa: E402
from trackers.bytetrack import ByteTrack  # noqa: E402
from trackers.configs import ByteTrackConfig  # noqa: E402
from trackers.matching import iou_distance, lapjv_assignment  # noqa: E402

DATA = ROOT / "tests" / "data" / "mot15-dets"  # in the repository (tests/data/README.md)
SEQUENCES = ["ADL-Rundle-6", "ETH-Pedcross2", "KITTI-17", "PETS09-S2L1", "TUD-Campus"]


def time_bytetrack(frames: list[np.ndarray]) -> float:
    tracker = ByteTrack(ByteTrackConfig())
    start = time.perf_counter()
    for dets in frames:
        tracker.update(dets)
    return time.perf_counter() - start


def time_iou_lapjv(frames: list[np.ndarray]) -> float:
    prev = np.zeros((0, 5))
    start = time.perf_counter()
    for dets in frames:
        lapjv_assignment(iou_distance(prev[:, :4], dets[:, :4]), 0.9)
        prev = dets
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    total_frames, total_bt, total_base = 0, 0.0, 0.0
    print(f"{'sequence':<15}{'frames':>7}{'dets':>7}{'ByteTrack fps':>15}{'IoU+lapjv fps':>15}{'x baseline':>12}")
    for seq in SEQUENCES:
        dets = read_detections(DATA / seq / "det" / "det.txt")
        frames = split_by_frame(dets, int(dets[:, 0].max()))
        runs = [(time_bytetrack(frames), time_iou_lapjv(frames)) for _ in range(args.repeats)]  # interleaved
        bt, base = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
        n = len(frames)
        total_frames, total_bt, total_base = total_frames + n, total_bt + bt, total_base + base
        print(f"{seq:<15}{n:>7}{len(dets):>7}{n / bt:>15.0f}{n / base:>15.0f}{bt / base:>12.1f}")
    print(f"{'overall':<15}{total_frames:>7}{'':>7}{total_frames / total_bt:>15.0f}{total_frames / total_base:>15.0f}"
          f"{total_bt / total_base:>12.1f}")


if __name__ == "__main__":
    main()
