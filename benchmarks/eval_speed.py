"""Wall time of `bench.evaluate.score.evaluate()` (TrackEval + py-motmetrics cross-check) against standalone TrackEval.

The case is generated (seeded): 2 sequences × 1,500 frames × 50 people walking with MOT17-style gt (class 1,
visibility), and a result file per sequence with jittered boxes, dropped boxes, id switches and false positives
(≈ 150k gt and ≈ 160k result boxes). Baseline, timed in the same run on the same files: TrackEval's own
`Evaluator` with the same metrics (HOTA, CLEAR, Identity, Count), single process, printing and file output
switched off through its own config. "ratio" = bench time / TrackEval time (median of --repeats runs each,
interleaved; also bench in one process). Goal (issue 12): ratio ≤ 1.0. The machine's load average is printed:
on a shared machine the parallel path can only win when cores are free.

As a user runs it (issue 19): `bench eval RESULTS --gt GT` as its own process, start to exit (imports, reading,
TrackEval, the cross-check, the printed table), against the same TrackEval code run as a standalone script, also
start to exit. "command ratio" = the two medians' ratio; goal ≤ 1.0.

Run from the repo root: .venv/bin/python benchmarks/eval_speed.py [--repeats 3] [--frames 1500] [--people 50]
or on existing files:   .venv/bin/python benchmarks/eval_speed.py --gt GT_ROOT --results RESULTS_DIR
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.evaluate.score import evaluate  # noqa: E402
from bench.data.mot_io import SeqInfo, write_gt, write_results, write_seqinfo  # noqa: E402

SEQS = ("SPEED-01", "SPEED-02")


def build_case(root: Path, frames: int, people: int, seed: int = 0) -> tuple[Path, Path, int, int]:
    """Write gt_root/<SEQ>/{gt/gt.txt, seqinfo.ini} and results/<SEQ>.txt; return (gt_root, results, #gt, #res)."""
    rng = np.random.default_rng(seed)
    gt_root, results = root / "gt", root / "trackers" / "bench"
    n_gt = n_res = 0
    for seq in SEQS:
        start = rng.uniform([0, 0], [1800, 900], size=(people, 2))
        vel = rng.normal(0, 2, size=(people, 2))
        f = np.arange(1, frames + 1)[:, None]
        xy = (start[None] + vel[None] * f[..., None]) % [1800, 900]  # (frames, people, 2)
        frame = np.repeat(np.arange(1, frames + 1), people)
        pid = np.tile(np.arange(1, people + 1), frames)
        xy = xy.reshape(-1, 2)
        vis = rng.uniform(0, 1, size=len(frame)).round(2)
        gt = np.column_stack([frame, pid, xy, np.full(len(frame), 40.0), np.full(len(frame), 100.0),
                              np.ones(len(frame)), np.ones(len(frame)), vis])
        write_gt(gt_root / seq / "gt" / "gt.txt", gt)
        write_seqinfo(gt_root / seq, SeqInfo(name=seq, length=frames, width=1920, height=1080, fps=30.0))
        keep = rng.uniform(size=len(gt)) > 0.1  # 10% misses
        res = gt[keep, :7].copy()
        res[:, 2:4] += rng.normal(0, 3, size=(len(res), 2))
        res[:, 6] = rng.uniform(0.5, 1, size=len(res))
        # id switches: each person gets a new id at a random moment with probability 0.5
        switch_at = rng.integers(1, frames * 2, size=people + 1)
        res[:, 1] = np.where(res[:, 0] > switch_at[res[:, 1].astype(int)], res[:, 1] + 1000, res[:, 1])
        n_fp = len(res) // 6
        fp = np.column_stack([rng.integers(1, frames + 1, size=n_fp), 5000 + rng.integers(0, 200, n_fp),
                              rng.uniform(0, 1800, size=(n_fp, 2)), np.full((n_fp, 2), [40, 100]),
                              rng.uniform(0.1, 0.6, size=n_fp)])
        fp = fp[np.unique(fp[:, 0] * 10000 + fp[:, 1], return_index=True)[1]]  # one box per id and frame
        res = np.concatenate([res, fp])
        res = res[np.lexsort((res[:, 1], res[:, 0]))]
        write_results(results / f"{seq}.txt", res)
        n_gt, n_res = n_gt + len(gt), n_res + len(res)
    return gt_root, results, n_gt, n_res


def time_trackeval(gt_root: Path, results: Path, seqs: list[str]) -> float:
    import trackeval

    start = time.perf_counter()
    evaluator = trackeval.Evaluator({"USE_PARALLEL": False, "PRINT_RESULTS": False, "PRINT_CONFIG": False,
                                     "TIME_PROGRESS": False, "OUTPUT_SUMMARY": False, "OUTPUT_DETAILED": False,
                                     "PLOT_CURVES": False, "LOG_ON_ERROR": None})
    dataset = trackeval.datasets.MotChallenge2DBox({
        "GT_FOLDER": str(gt_root), "TRACKERS_FOLDER": str(results.parent), "TRACKERS_TO_EVAL": [results.name],
        "BENCHMARK": "MOT17", "SKIP_SPLIT_FOL": True, "TRACKER_SUB_FOLDER": "", "PRINT_CONFIG": False,
        "SEQ_INFO": {s: None for s in seqs}})
    metrics = [trackeval.metrics.HOTA(), trackeval.metrics.CLEAR({"THRESHOLD": 0.5, "PRINT_CONFIG": False}),
               trackeval.metrics.Identity({"THRESHOLD": 0.5, "PRINT_CONFIG": False})]
    with contextlib.redirect_stdout(io.StringIO()):  # the Evaluator's one unconditional "Evaluating ..." line
        evaluator.evaluate([dataset], metrics)
    return time.perf_counter() - start


TRACKEVAL_SCRIPT = """
import contextlib, io, sys
import trackeval

gt_root, trackers_folder, tracker, *seqs = sys.argv[1:]
evaluator = trackeval.Evaluator({"USE_PARALLEL": False, "PRINT_RESULTS": False, "PRINT_CONFIG": False,
                                 "TIME_PROGRESS": False, "OUTPUT_SUMMARY": False, "OUTPUT_DETAILED": False,
                                 "PLOT_CURVES": False, "LOG_ON_ERROR": None})
dataset = trackeval.datasets.MotChallenge2DBox({
    "GT_FOLDER": gt_root, "TRACKERS_FOLDER": trackers_folder, "TRACKERS_TO_EVAL": [tracker],
    "BENCHMARK": "MOT17", "SKIP_SPLIT_FOL": True, "TRACKER_SUB_FOLDER": "", "PRINT_CONFIG": False,
    "SEQ_INFO": {s: None for s in seqs}})
metrics = [trackeval.metrics.HOTA(), trackeval.metrics.CLEAR({"THRESHOLD": 0.5, "PRINT_CONFIG": False}),
           trackeval.metrics.Identity({"THRESHOLD": 0.5, "PRINT_CONFIG": False})]
with contextlib.redirect_stdout(io.StringIO()):
    out = evaluator.evaluate([dataset], metrics)[0]
hota = out["MotChallenge2DBox"][tracker]["COMBINED_SEQ"]["pedestrian"]["HOTA"]["HOTA"].mean()
print(f"HOTA {hota:.4f}")
"""


def _timed_process(args: list[str]) -> float:
    """Wall seconds of one process, start to exit (a failure is an error, not a time)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    start = time.perf_counter()
    proc = subprocess.run(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:3])} ... exited {proc.returncode}: {proc.stderr[-2000:]}")
    return seconds


def time_trackeval_script(gt_root: Path, results: Path, seqs: list[str]) -> float:
    """Standalone TrackEval as a user's script: `python script.py ...`, start to exit."""
    return _timed_process([sys.executable, "-c", TRACKEVAL_SCRIPT, str(gt_root), str(results.parent), results.name,
                           *seqs])


def time_bench_command(gt_root: Path, results: Path) -> float:
    """`bench eval` as a user runs it, start to exit (this checkout's code, whatever is installed)."""
    return _timed_process([sys.executable, "-c", "from bench.cli import main; main()", "eval", str(results),
                           "--gt", str(gt_root), "--benchmark", "MOT17"])


def time_bench(gt_root: Path, results: Path, jobs: int | None = None) -> float:
    kwargs = {"jobs": jobs} if "jobs" in inspect.signature(evaluate).parameters else {}  # also times older bench
    start = time.perf_counter()
    evaluate(results, gt_root, benchmark="MOT17", **kwargs)  # disagreements (by definition, see crosscheck) are fine
    return time.perf_counter() - start


def time_parts(gt_root: Path, results: Path) -> dict[str, float]:
    """CPU-bound parts of `bench eval`, each timed alone in this process: reading and checking the files, TrackEval's
    preprocessing, TrackEval's metrics, and the py-motmetrics cross-check (its accumulator and its metrics); summed
    over sequences. Also the import time of each command (a process that only imports)."""
    from bench.evaluate import crosscheck, trackeval_adapter
    from bench.evaluate.inputs import load_inputs

    parts = dict.fromkeys(("read", "preprocess", "trackeval", "crosscheck"), 0.0)
    start = time.perf_counter()
    inputs = load_inputs(results, gt_root, None, "MOT17", "eval_speed.py")
    parts["read"] = time.perf_counter() - start
    crosscheck.warm_up()
    for seq in inputs.seqs:
        start = time.perf_counter()
        data = trackeval_adapter.preprocess(inputs.results_dir, inputs.gt_root, seq, inputs.lengths[seq],
                                            inputs.benchmark, inputs.gts[seq], inputs.results[seq])
        parts["preprocess"] += time.perf_counter() - start
        start = time.perf_counter()
        trackeval_adapter.score(data)
        parts["trackeval"] += time.perf_counter() - start
        start = time.perf_counter()
        crosscheck.partial(crosscheck.accumulate(data))
        parts["crosscheck"] += time.perf_counter() - start
    parts["bench imports"] = _timed_process([sys.executable, "-c", "import bench.cli, bench.evaluate.score, trackeval, "
                                             "motmetrics, pandas; bench.evaluate.crosscheck.warm_up()"])
    parts["trackeval imports"] = _timed_process([sys.executable, "-c", "import trackeval"])
    return parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--frames", type=int, default=1500)
    parser.add_argument("--people", type=int, default=50)
    parser.add_argument("--gt", type=Path, help="time an existing case instead: gt root (<SEQ>/gt/gt.txt) ...")
    parser.add_argument("--results", type=Path, help="... and a folder of <SEQ>.txt results for every gt sequence")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-eval-speed-") as tmp:
        if args.gt:
            gt_root, results = args.gt.resolve(), args.results.resolve()
            seqs = sorted(p.name for p in gt_root.iterdir() if (p / "gt" / "gt.txt").is_file())
            n_gt = sum(len((gt_root / s / "gt" / "gt.txt").read_text().splitlines()) for s in seqs)
            n_res = sum(len((results / f"{s}.txt").read_text().splitlines()) for s in seqs)
        else:
            gt_root, results, n_gt, n_res = build_case(Path(tmp), args.frames, args.people)
            seqs = list(SEQS)
        print(f"case: {len(seqs)} sequences, {n_gt} gt boxes, {n_res} result boxes")
        print(f"cores: {os.cpu_count()}, load average: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
        runs: dict[str, list[float]] = {"trackeval": [], "bench": [], "bench_1proc": [], "trackeval_script": [],
                                        "bench_command": []}
        for _ in range(args.repeats):  # interleaved, so that load changes hit all of them alike
            runs["trackeval"].append(time_trackeval(gt_root, results, seqs))
            runs["bench"].append(time_bench(gt_root, results))
            runs["bench_1proc"].append(time_bench(gt_root, results, jobs=1))
            runs["trackeval_script"].append(time_trackeval_script(gt_root, results, seqs))
            runs["bench_command"].append(time_bench_command(gt_root, results))
        med = {k: statistics.median(v) for k, v in runs.items()}
        labels = {"trackeval": "standalone TrackEval (Evaluator, 1 process)",
                  "bench": "bench evaluate() (TrackEval + motmetrics, default jobs)",
                  "bench_1proc": "bench evaluate(jobs=1) (one process)",
                  "trackeval_script": "TrackEval script as a process (start to exit)",
                  "bench_command": "`bench eval` as a process (start to exit)"}
        for k, label in labels.items():
            print(f"{label:<58} {med[k]:6.2f} s  (runs: {', '.join(f'{x:.2f}' for x in runs[k])})")
        print(f"ratio bench / TrackEval: {med['bench'] / med['trackeval']:.2f}x  (goal <= 1.0x); "
              f"one process: {med['bench_1proc'] / med['trackeval']:.2f}x")
        print(f"command ratio `bench eval` / TrackEval script: "
              f"{med['bench_command'] / med['trackeval_script']:.2f}x  (goal <= 1.0x)")
        # Where the command's time goes, and the best it could do on this machine: imports and reading are serial,
        # the per-sequence work (preprocessing, TrackEval, cross-check) at best shared perfectly by the cores.
        parts = time_parts(gt_root, results)
        print("parts (one process, summed over sequences): "
              + ", ".join(f"{k} {v:.2f} s" for k, v in parts.items()))
        workers = min(os.cpu_count() or 1, len(seqs))
        per_seq = parts["preprocess"] + parts["trackeval"] + parts["crosscheck"]
        best = parts["bench imports"] + parts["read"] + per_seq / workers
        best_free = parts["bench imports"] + parts["read"] + (per_seq - parts["crosscheck"]) / workers
        print(f"best command time on {workers} workers: {best:.2f} s = {best / med['trackeval_script']:.2f}x the "
              f"script; with a free cross-check {best_free:.2f} s = {best_free / med['trackeval_script']:.2f}x")
        print(f"load average after: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")

if __name__ == "__main__":
    main()
