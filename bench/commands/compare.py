"""`bench compare DIR_A DIR_B ... --gt GT_ROOT`: the `bench run` report for result folders written by any tracker.

Each folder holds one tracker's MOTChallenge result files, `<SEQ>.txt` (`frame,id,x,y,w,h,score,-1,-1,-1`, 1-based
frames), either directly or in a `data/` subfolder (TrackEval's `trackers/<benchmark>/<TRACKER>/data/` layout);
other files in it are ignored. The ground-truth root holds `<SEQ>/gt/gt.txt` (and `<SEQ>/seqinfo.ini`), e.g.
MOT17's `train/` folder or a bench suite's folder. The compared sequences are `--seqs`, or else every gt sequence that
any folder has a result for; every folder needs a file for each of them.

The folders are copied into a run folder (`results/<run-id>/<name>/<SEQ>.txt`) with `metrics.csv`, `crosscheck.csv`
and `manifest.json` in `bench run`'s layout, and the report is `bench.present.report.write_report`'s, so the analysis
(metrics, paired intervals and verdicts, occlusion bins, re-link rates, plots, LaTeX) is the same code as for a run.
Without timings there is no FPS column.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path


from bench.core.errors import BenchError
from bench.core.fsutil import atomic_dir, remove_stale_temp, stable_hash
from bench.core.progress import Reporter, SilentReporter
from bench.core.run_store import run_folder
from bench.commands.run import RunResult, evaluate_trackers, report_crosscheck, git_commit, package_versions, write_run

LAYOUT = ("DIR/<SEQ>.txt or DIR/data/<SEQ>.txt (TrackEval's layout), MOTChallenge result format "
          "frame,id,x,y,w,h,score[,-1,-1,-1]; name a folder with NAME=DIR (default: the folder's name)")
# A tracker name becomes a folder in the run and a row label in the report: any text (names are data: Unicode,
# spaces, brackets) that is one path component and not hidden; "=" separates NAME=DIR.
NAME = re.compile(r"^(?!\.)[^/\\=\x00-\x1f\x7f]+$")


def result_folder(path: Path) -> Path:
    """The folder holding the `<SEQ>.txt` files: DIR/data when it has .txt files (TrackEval's layout, where DIR also
    holds TrackEval's own pedestrian_summary.txt), else DIR."""
    if not path.is_dir():
        raise BenchError("results folder not found", path, hint=f"expected {LAYOUT}")
    if (path / "data").is_dir() and any((path / "data").glob("*.txt")):
        return path / "data"
    return path


def parse_entries(specs: list[str]) -> dict[str, Path]:
    """`[NAME=]DIR` arguments → name → folder with the result files; names must be distinct plain names."""
    out: dict[str, Path] = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not NAME.match(name):
            name, path = "", spec
        folder = result_folder(Path(path))
        name = name or (folder.parent.name if folder.name == "data" else folder.name)
        if not NAME.match(name):
            raise BenchError(f"{spec}: {name!r} is not usable as a tracker name", hint="name it: NAME=DIR")
        if name in out:
            raise BenchError(f"two folders are named {name!r} ({out[name]} and {folder})",
                             hint="name them apart: NAME_A=DIR_A NAME_B=DIR_B")
        out[name] = folder
    if len(out) < 1:
        raise BenchError("no results folder given", hint=f"expected {LAYOUT}")
    return out


def compare_folders(entries: dict[str, Path], gt_root: Path, results_dir: Path, seqs: list[str] | None = None,
                    benchmark: str | None = None, run_id: str | None = None, reporter: Reporter | None = None,
                    benchmark_source: str = "--benchmark") -> RunResult:
    """Copy, evaluate and record the folders as one run (tracker order = argument order). benchmark None or "auto":
    decided once for all folders from the sequence names and the gt (`bench.data.benchmarks.choose`)."""
    from bench.data.benchmarks import choose
    from bench.data.mot_fast import gt_path, load_rows
    from bench.evaluate.inputs import discover_seqs

    started = time.time()
    reporter = reporter or SilentReporter()
    gt_root = gt_root.resolve()
    if not seqs:  # the gt sequences the folders have results for (e.g. the FRCNN ones of MOT17's train/)
        seqs = [s for s in discover_seqs(gt_root) if any((f / f"{s}.txt").is_file() for f in entries.values())]
        if not seqs:
            raise BenchError("no result file matches a gt sequence", gt_root,
                             hint=f"expected {LAYOUT}, and <SEQ>/gt/gt.txt under --gt for the same names")
    for name, folder in entries.items():
        missing = [s for s in seqs if not (folder / f"{s}.txt").is_file()]
        if missing:
            raise BenchError(f"{name}: no result file for {len(missing)} of {len(seqs)} sequences: "
                             f"{', '.join(f'{s}.txt' for s in missing)}", folder,
                             hint="track them, or name the compared subset with --seqs A,B")
    auto = benchmark in (None, "auto")
    choice = choose(benchmark, seqs, [load_rows(gt_path(gt_root, s), "gt") for s in seqs] if auto else [],
                    benchmark_source)
    key = stable_hash({"folders": {n: str(p.resolve()) for n, p in entries.items()}, "gt": str(gt_root),
                       "seqs": seqs})
    run_id = run_id or time.strftime("compare-%Y%m%d-%H%M%S") + f"-{key[:6]}"
    run_dir = run_folder(results_dir, run_id)
    remove_stale_temp(results_dir)
    with atomic_dir(run_dir, replace=False) as tmp:
        for name, folder in entries.items():
            (tmp / name).mkdir()
            for s in seqs:
                shutil.copyfile(folder / f"{s}.txt", tmp / name / f"{s}.txt")
        metrics, checks, bench_name = evaluate_trackers(tmp, list(entries), gt_root, seqs, choice.name, reporter)
        report_crosscheck(checks, run_dir, reporter)
        manifest = {
            "run_id": run_id,
            "suite": {"name": gt_root.name, "root": str(gt_root), "benchmark": bench_name,
                      "benchmark_reason": choice.reason, "sequences": seqs, "test_sequences": []},
            "trackers": list(entries),
            "compared": {n: str(p.resolve()) for n, p in entries.items()},
            "git_commit": git_commit(),
            "packages": package_versions(),
            "device": "n/a",
            "seed": 0,
            "detections": {"source": "external"},
            "notes": ["Results of other tools compared by `bench compare` (no tracker was run, so there is no FPS): "
                      + ", ".join(f"{n} from `{p.resolve()}`" for n, p in entries.items()) + "."],
            "timings": {"total_seconds": time.time() - started},
            "started": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(started)),
        }
        result = RunResult(run_id, run_dir, metrics, checks, manifest)
        write_run(tmp, result)
    return result
