"""Which sequences to score, and their files read once and checked before TrackEval sees them.

Beyond `bench.data.mot_io`'s line checks this catches what TrackEval would otherwise fail on with a traceback
(ragged lines, non-integer or duplicate ids in a frame, frames past the sequence end, classes it cannot handle),
so users only ever see one `BenchError` naming file and line.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.core.errors import BenchError
from bench.data.mot_io import read_seq_length
from bench.data.benchmarks import CLASS_IDS, choose, preprocesses
from bench.data.mot_fast import TextRows, gt_path, load_rows


@dataclass
class EvalInputs:
    """Validated inputs of one evaluation: per sequence the gt and result rows and the sequence length."""

    results_dir: Path
    gt_root: Path
    seqs: list[str]
    gts: dict[str, TextRows]
    results: dict[str, TextRows]
    lengths: dict[str, int]
    benchmark: str  # one of bench.data.benchmarks.BENCHMARKS (never "auto")
    benchmark_reason: str = ""  # one line: why this benchmark


def discover_seqs(gt_root: Path) -> list[str]:
    if not gt_root.is_dir():
        raise BenchError("ground-truth folder not found", gt_root, hint="expected <gt_root>/<SEQ>/gt/gt.txt")
    seqs = sorted(p.name for p in gt_root.iterdir() if (p / "gt" / "gt.txt").is_file())
    if not seqs:
        deeper = sorted(p.name for p in gt_root.iterdir() if p.is_dir() and any(p.glob("*/gt/gt.txt")))
        hint = "expected <gt_root>/<SEQ>/gt/gt.txt"
        if deeper:  # e.g. TrackEval's data/gt/mot_challenge/ holding MOT17-train/, MOT17-test/
            hint += f"; these subfolders hold sequences: {', '.join(deeper)} (pass one of them as --gt)"
        raise BenchError("no sequence folder with gt/gt.txt", gt_root, hint=hint)
    return seqs


def results_folder(results_dir: Path) -> Path:
    """The folder with the `<SEQ>.txt` files: DIR/data when it has .txt files (TrackEval's
    `trackers/<benchmark>/<TRACKER>/data/` layout, where DIR also holds TrackEval's own pedestrian_summary.txt), else
    DIR — as `bench compare` reads it."""
    data = results_dir / "data"
    return data if data.is_dir() and any(data.glob("*.txt")) else results_dir


def _near(name: str, candidates: set[str]) -> str | None:
    """The candidate `name` was probably meant to match: same letters in another case, else a close spelling."""
    same = [c for c in candidates if c.casefold() == name.casefold()]
    if same:
        return same[0]
    close = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.85)
    return close[0] if close else None


def _with_near(names: list[str], candidates: set[str], own: str, theirs: str) -> str:
    """`A, B (there is a.txt: ...)`: each name (formatted by `own`) with the near miss it probably meant (`theirs`)."""
    out = []
    for n in names:
        near = _near(n, candidates)
        out.append(own.format(n) + (f" ({theirs.format(near)}: names must match exactly, case included)"
                                    if near else ""))
    return ", ".join(out)


def resolve_seqs(results_dir: Path, gt_root: Path, seqs: list[str] | None) -> list[str]:
    """The sequences to score: the named ones, else every gt sequence, which then all need a result file.

    No partial scoring by accident: results for fewer sequences than the gt holds (or results without gt) are an
    error listing them (with the near miss each probably meant: MOT17-02 vs mot17-02.txt); a subset must be named
    explicitly.
    """
    if seqs is not None:
        seqs = list(seqs)
        if not seqs:
            raise BenchError("no sequences to evaluate", gt_root)
        if len(set(seqs)) != len(seqs):
            raise BenchError(f"sequence listed twice in {seqs}", gt_root)
        return seqs
    seqs = discover_seqs(gt_root)
    have = {p.stem for p in results_dir.glob("*.txt")}
    missing = [s for s in seqs if s not in have]
    if missing:
        layout = ""
        if not have and any(results_dir.glob("*/data/*.txt")):
            layout = (" (its subfolders are in TrackEval's <TRACKER>/data/ layout: pass one tracker's folder, or "
                      "compare them all with `bench compare`)")
        raise BenchError(f"no results for {len(missing)} of {len(seqs)} gt sequences: "
                         f"{_with_near(missing, have - set(seqs), '{}', 'there is {}.txt')}{layout}",
                         results_dir, hint="track them, or name the subset to score (e.g. --seqs A,B)")
    extra = sorted(have - set(seqs))
    if extra:
        raise BenchError(f"results without gt: {_with_near(extra, set(seqs) - have, '{}.txt', 'the gt has {}')}",
                         results_dir,
                         hint=f"the gt root {gt_root} has no <SEQ>/gt/gt.txt for them; remove them or fix --gt")
    return seqs


def load_inputs(results_dir: Path, gt_root: Path, seqs: list[str] | None, benchmark: str | None,
                benchmark_source: str = "the benchmark setting") -> EvalInputs:
    """Read and check every file once; benchmark None or "auto" → decided from the sequence names and the gt
    (`bench.data.benchmarks.choose`)."""
    results_dir, gt_root = Path(results_dir).resolve(), Path(gt_root).resolve()
    if not results_dir.is_dir():
        raise BenchError("results folder not found", results_dir, hint="expected <results_dir>/<SEQ>.txt")
    results_dir = results_folder(results_dir)
    seqs = resolve_seqs(results_dir, gt_root, seqs)
    gts = {s: load_rows(gt_path(gt_root, s), "gt") for s in seqs}
    results = {s: load_rows(results_dir / f"{s}.txt", "results") for s in seqs}
    for s in seqs:
        _check_common(gts[s], "ground-truth")
    choice = choose(benchmark, seqs, [gts[s] for s in seqs], benchmark_source)
    benchmark = choice.name
    lengths: dict[str, int] = {}
    for s in seqs:
        _check_gt(gts[s], benchmark)
        _check_results(results[s])
        ini_length = read_seq_length(gt_root / s)
        if ini_length is None:
            # Without seqinfo.ini the gt's last frame ends the sequence: memory and time (TrackEval works frame by
            # frame) follow the gt, never a stray result frame.
            if len(gts[s].rows) == 0 and len(results[s].rows):
                raise BenchError("no gt boxes and no seqinfo.ini: the sequence length is unknown", gts[s].path,
                                 hint=f"add {gt_root / s / 'seqinfo.ini'} with [Sequence] seqLength=<frames>")
            lengths[s] = int(gts[s].rows[:, 0].max()) if len(gts[s].rows) else 1
            _check_length(results[s], lengths[s], gt_root / s / "seqinfo.ini", from_ini=False)
        else:
            lengths[s] = ini_length
            for f in (gts[s], results[s]):
                _check_length(f, ini_length, gt_root / s / "seqinfo.ini")
    return EvalInputs(results_dir, gt_root, seqs, gts, results, lengths, benchmark, choice.reason)


def _check_common(f: TextRows, what: str) -> None:
    """Checks TrackEval needs but bench.data.mot_io does not make: same width everywhere, integer ids, unique per frame."""
    if len(f.rows) == 0:
        return
    bad = f.ncols != f.ncols[0]
    if bad.any():
        raise BenchError(f"{f.ncols[bad][0]} values on this line but {f.ncols[0]} on the first", f.path,
                         f.line_of(bad), hint=f"every line of a {what} file needs the same number of columns")
    ids = f.rows[:, 1]
    bad = (ids < 0) | (ids != np.floor(ids))
    if bad.any():
        raise BenchError(f"id must be a non-negative integer, got {ids[bad][0]:g}", f.path, f.line_of(bad),
                         hint="fix or remove this line")
    keys = f.rows[:, 0].astype(np.int64) * (int(ids.max()) + 1) + ids.astype(np.int64)
    _, first = np.unique(keys, return_index=True)
    dup = np.ones(len(keys), dtype=bool)
    dup[first] = False
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise BenchError(f"id {int(ids[i])} appears twice in frame {int(f.rows[i, 0])}", f.path, int(f.lines[i]),
                         hint="each id may have at most one box per frame")


def _check_gt(f: TextRows, benchmark: str) -> None:
    if len(f.rows) == 0:
        return
    if f.ncols[0] < 8:
        raise BenchError(f"ground truth needs at least 8 columns (frame,id,x,y,w,h,conf,class), got {f.ncols[0]}",
                         f.path, int(f.lines[0]), hint="MOT15-style gt has -1 in the class column")
    if preprocesses(benchmark):
        bad = ~np.isin(f.rows[:, 7], CLASS_IDS)
        if bad.any():
            raise BenchError(f"{benchmark} preprocessing needs a class id 1-13, got {f.rows[bad][0, 7]:g}", f.path,
                             f.line_of(bad), hint="set MOT15 or none as the benchmark for gt without classes")


def _check_results(f: TextRows) -> None:
    _check_common(f, "tracking result")
    bad = np.trunc(f.col8) > 1  # TrackEval evaluates the pedestrian class only (class column -1 or 1)
    if bad.any():
        raise BenchError(f"class {f.col8[bad][0]:g} in a result file (only pedestrians are evaluated)", f.path,
                         f.line_of(bad), hint="write -1 (or 1) in the 8th column")


def _check_length(f: TextRows, length: int, ini: Path, from_ini: bool = True) -> None:
    """Every row within 1..length: seqLength of `ini`, or (from_ini=False, no ini) the gt's last frame."""
    bad = f.rows[:, 0] > length
    if bad.any():
        frame = int(f.rows[bad][0, 0])
        if not from_ini:
            raise BenchError(f"frame {frame} is past the gt's last frame ({length}; no seqinfo.ini gives the "
                             "sequence length)", f.path, f.line_of(bad),
                             hint=f"fix or remove this line, or add {ini} with [Sequence] seqLength=<frames>")
        raise BenchError(f"frame {frame} is past the sequence end ({length} frames in {ini})",
                         f.path, f.line_of(bad), hint="results and gt must lie within the sequence")
