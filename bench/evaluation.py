"""Score MOTChallenge-layout tracker results with TrackEval, cross-checked by py-motmetrics.

TrackEval computes every reported number (HOTA, CLEAR, Identity, counts) with its own MOTChallenge benchmark
preprocessing. py-motmetrics is an independent implementation of MOTA/IDF1/ID switches: it is fed the very boxes,
ids and IoUs TrackEval scored (after preprocessing), and any difference is reported loudly rather than averaged away.

One difference is by definition, not a bug: the per-frame CLEAR matching after a gap. TrackEval favours (+1000 score)
only pairs matched in the previous frame (the last one that had both gt and tracker boxes), then maximises IoU.
motmetrics first re-links every gt to its *last ever* matched tracker id (`MOTAccumulator.m`, kept across frames
where that gt went unmatched), greedily in gt order and before its Hungarian step. So when a gt is re-acquired
after one or more missed frames and its old tracker id is still a valid (IoU >= 0.5) but not the best pairing, the
two can match differently: IDs, FP and FN (and so MOTA) then legitimately differ, while IDF1 (one global id
assignment in both) still agrees. The check stays strict; such a report needs a look at the matching before it is
called a bug.

Input files are validated first with `bench.mot_io` (one `BenchError` naming file and line per problem), plus the
checks TrackEval would otherwise fail on with a traceback (duplicate ids in a frame, frames past the sequence end,
classes it cannot handle), so users never see TrackEval's own exceptions.
"""

from __future__ import annotations

import configparser
import contextlib
import io
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.errors import BenchError
from bench.mot_io import read_gt, read_results

BENCHMARKS = ("MOT15", "MOT16", "MOT17", "MOT20")  # preprocessing style as in TrackEval
AGREEMENT_TOL = 1e-6
MATCH_IOU = 0.5  # TrackEval's CLEAR/Identity threshold (and motmetrics' usual max distance 1 - 0.5)
_CLASS = "pedestrian"
_MOT17_CLASSES = range(1, 14)  # TrackEval's MotChallenge2DBox class ids (pedestrian ... crowd)

# Output column order: HOTA family (alpha-averaged), CLEAR, Identity, counts.
HOTA_COLUMNS = ("HOTA", "DetA", "AssA", "LocA", "DetRe", "DetPr", "AssRe", "AssPr")
RATE_COLUMNS = HOTA_COLUMNS + ("MOTA", "MOTP", "MODA", "Rcll", "Prcn", "IDF1", "IDP", "IDR")
COUNT_COLUMNS = ("IDs", "Frag", "FP", "FN", "TP", "MT", "PT", "ML", "IDTP", "IDFP", "IDFN",
                 "GT_IDs", "GT_Dets", "Dets", "Tracker_IDs", "Frames")
CROSSCHECK_METRICS = ("MOTA", "IDF1", "IDs", "FP", "FN")


@dataclass
class EvalResult:
    metrics: pd.DataFrame  # per sequence + "COMBINED" (index "seq"); rates in 0-1, counts as ints
    crosscheck: pd.DataFrame  # per sequence + "COMBINED": TrackEval vs motmetrics values, max_abs_diff, agree
    disagreements: list[str] = field(default_factory=list)  # empty when everything agrees within AGREEMENT_TOL
    benchmark: str = "MOT17"

    @property
    def agrees(self) -> bool:
        """True when TrackEval and py-motmetrics agree on every sequence (the flag runners should check)."""
        return not self.disagreements


# ----------------------------------------------------------------------------------------------------------------
# Reading and validating input files


@dataclass
class _TextRows:
    """A validated MOTChallenge file: parsed rows plus where each row came from, for line-numbered errors."""

    path: Path
    rows: np.ndarray  # as returned by bench.mot_io (gt: 9 columns, results: 7)
    lines: np.ndarray  # 1-based line number of each row
    ncols: np.ndarray  # number of comma-separated values on each row's line
    col8: np.ndarray  # the 8th value of each line (class column), NaN where the line is shorter
    has_blank_lines: bool  # TrackEval's csv reader chokes on these; such files are staged cleaned

    def line_of(self, mask: np.ndarray) -> int:
        return int(self.lines[int(np.flatnonzero(mask)[0])])


def _load(path: Path, reader: Callable[[Path], np.ndarray]) -> _TextRows:
    rows = reader(path)  # raises BenchError for a missing file or a malformed line
    lines, ncols, col8, blank = [], [], [], False
    with open(path) as f:
        for lineno, raw in enumerate(f, start=1):
            text = raw.strip()
            if not text:
                blank = True
                continue
            parts = text.split(",")
            lines.append(lineno)
            ncols.append(len(parts))
            col8.append(float(parts[7]) if len(parts) >= 8 else math.nan)
    return _TextRows(path, rows, np.asarray(lines, dtype=np.int64), np.asarray(ncols, dtype=np.int64),
                     np.asarray(col8, dtype=np.float64), blank)


def _check_common(f: _TextRows, what: str) -> None:
    """Checks TrackEval needs but bench.mot_io does not make: same width everywhere, integer ids, unique per frame."""
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


def _check_gt(f: _TextRows, benchmark: str) -> None:
    _check_common(f, "ground-truth")
    if len(f.rows) == 0:
        return
    if f.ncols[0] < 8:
        raise BenchError(f"ground truth needs at least 8 columns (frame,id,x,y,w,h,conf,class), got {f.ncols[0]}",
                         f.path, int(f.lines[0]), hint="MOT15-style gt has -1 in the class column")
    if benchmark != "MOT15":
        bad = ~np.isin(f.rows[:, 7], list(_MOT17_CLASSES))
        if bad.any():
            raise BenchError(f"{benchmark} preprocessing needs a class id 1-13, got {f.rows[bad][0, 7]:g}", f.path,
                             f.line_of(bad), hint="use benchmark MOT15 for gt without classes")


def _check_results(f: _TextRows) -> None:
    _check_common(f, "tracking result")
    bad = np.trunc(f.col8) > 1  # TrackEval evaluates the pedestrian class only (class column -1 or 1)
    if bad.any():
        raise BenchError(f"class {f.col8[bad][0]:g} in a result file (only pedestrians are evaluated)", f.path,
                         f.line_of(bad), hint="write -1 (or 1) in the 8th column")


def _check_length(f: _TextRows, length: int, source: Path) -> None:
    bad = f.rows[:, 0] > length
    if bad.any():
        raise BenchError(f"frame {int(f.rows[bad][0, 0])} is past the sequence end ({length} frames in {source})",
                         f.path, f.line_of(bad), hint="results and gt must lie within the sequence")


def _seq_length_from_ini(seq_dir: Path) -> int | None:
    """seqLength from seqinfo.ini, or None when there is no ini (only seqLength is needed, unlike read_seqinfo)."""
    path = seq_dir / "seqinfo.ini"
    if not path.is_file():
        return None
    parser = configparser.ConfigParser()
    try:
        parser.read(path)
        length = int(parser["Sequence"]["seqLength"])
    except (KeyError, ValueError, configparser.Error) as e:
        raise BenchError(f"bad seqinfo.ini ({e})", path, hint="it needs [Sequence] with seqLength") from None
    if length < 1:
        raise BenchError(f"seqLength must be positive, got {length}", path)
    return length


def _discover_seqs(gt_root: Path) -> list[str]:
    if not gt_root.is_dir():
        raise BenchError("ground-truth folder not found", gt_root, hint="expected <gt_root>/<SEQ>/gt/gt.txt")
    seqs = sorted(p.name for p in gt_root.iterdir() if (p / "gt" / "gt.txt").is_file())
    if not seqs:
        raise BenchError("no sequence folder with gt/gt.txt", gt_root, hint="expected <gt_root>/<SEQ>/gt/gt.txt")
    return seqs


def _gt_path(gt_root: Path, seq: str) -> Path:
    return gt_root / seq / "gt" / "gt.txt"


def _mot17_style(f: _TextRows) -> np.ndarray:
    """Per row: does it look like MOT16/17/20 gt (9+ columns, integer class 1-13, visibility in [0, 1])?

    MOT15 gt has -1 or world coordinates in columns 8-10 instead, so a MOT15 row fails this test.
    """
    cls, vis = f.rows[:, 7], f.rows[:, 8]
    return (f.ncols >= 9) & np.isin(cls, list(_MOT17_CLASSES)) & (vis >= 0) & (vis <= 1)


def _benchmark_of(files: list[_TextRows]) -> str:
    """'MOT17' when gt rows carry class/visibility, 'MOT15' when they carry -1 (or MOT15's world coordinates)."""
    style: tuple[str, _TextRows] | None = None
    for f in files:
        if len(f.rows) == 0:
            continue
        is17 = _mot17_style(f)
        this = "MOT17" if is17[0] else "MOT15"
        if this == "MOT17" and not is17.all():
            bad = ~is17
            raise BenchError(f"MOT17-style gt needs an integer class 1-13 and visibility 0-1, got class "
                             f"{f.rows[bad][0, 7]:g}, visibility {f.rows[bad][0, 8]:g}", f.path, f.line_of(bad),
                             hint="fix this line (or pass the benchmark explicitly)")
        style = style or (this, f)
        if this != style[0]:
            raise BenchError(f"this gt is {this}-style but {style[1].path} is {style[0]}-style", f.path,
                             int(f.lines[0]), hint="evaluate them separately or pass the benchmark explicitly")
    return style[0] if style else "MOT17"


def detect_benchmark(gt_root: Path, seqs: list[str]) -> str:
    """'MOT17' if gt files carry class/visibility columns (9+ columns with class ≥ 1), 'MOT15' if those are -1.

    MOT15 gt may also hold world coordinates there (TUD-Stadtmitte does): anything that is not an integer class
    1-13 with visibility 0-1 on the first row is MOT15-style. Mixed styles, or a MOT17 file with one bad row, are
    a BenchError naming the line (silently skipping preprocessing would change every number).
    """
    return _benchmark_of([_load(_gt_path(Path(gt_root), s), read_gt) for s in seqs])


# ----------------------------------------------------------------------------------------------------------------
# TrackEval


@contextlib.contextmanager
def _quiet() -> Iterator[io.StringIO]:
    """TrackEval prints configs, progress and tracebacks; keep them off the user's terminal."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
        yield buf


@contextlib.contextmanager
def _trackeval_layout(results_dir: Path, gt_root: Path, seqs: list[str],
                      gts: dict[str, _TextRows], results: dict[str, _TextRows]) -> Iterator[tuple[Path, Path, str]]:
    """(gt folder, trackers folder, tracker folder name) for TrackEval.

    The given folders are used as they are. Only when a file has blank lines (fine for bench.mot_io, fatal for
    TrackEval's csv reader) is a temporary layout built: symlinks to the clean files, cleaned copies of the others.
    """
    if not any(f.has_blank_lines for f in [*gts.values(), *results.values()]):
        yield gt_root, results_dir.parent, results_dir.name
        return
    with tempfile.TemporaryDirectory(prefix="bench-eval-") as tmp:
        root = Path(tmp)
        for seq in seqs:
            _stage(gts[seq], root / "gt" / seq / "gt" / "gt.txt")
            _stage(results[seq], root / "trackers" / "tracker" / f"{seq}.txt")
        yield root / "gt", root / "trackers", "tracker"


def _stage(f: _TextRows, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    if f.has_blank_lines:
        with open(f.path) as src:
            dest.write_text("".join(line if line.endswith("\n") else line + "\n" for line in src if line.strip()))
        return
    try:
        os.symlink(f.path.resolve(), dest)
    except OSError:  # filesystems without symlinks
        shutil.copyfile(f.path, dest)


def _run_trackeval(gt_folder: Path, trackers_folder: Path, tracker_folder: str, tracker_name: str,
                   seq_lengths: dict[str, int], benchmark: str) -> tuple[dict[str, dict], dict[str, dict]]:
    """Per-sequence TrackEval results {seq: {metric: {field: value}}} (plus "COMBINED") and preprocessed data.

    Mirrors `trackeval.eval.eval_sequence` (raw data → benchmark preprocessing → each metric) and the Evaluator's
    sequence combination, but keeps the preprocessed data so py-motmetrics can score exactly the same boxes.
    Single process; nothing is written (no summaries, plots or error logs).
    """
    import trackeval

    config = {
        "GT_FOLDER": str(gt_folder),
        "TRACKERS_FOLDER": str(trackers_folder),
        "OUTPUT_FOLDER": None,  # only used by the Evaluator's writers, which are never called here
        "TRACKERS_TO_EVAL": [tracker_folder],
        "TRACKER_DISPLAY_NAMES": [tracker_name],
        "CLASSES_TO_EVAL": [_CLASS],
        "BENCHMARK": benchmark,
        "SPLIT_TO_EVAL": "train",
        "INPUT_AS_ZIP": False,
        "PRINT_CONFIG": False,
        "DO_PREPROC": True,
        "TRACKER_SUB_FOLDER": "",
        "OUTPUT_SUB_FOLDER": "",
        "SEQ_INFO": dict(seq_lengths),
        "GT_LOC_FORMAT": "{gt_folder}/{seq}/gt/gt.txt",
        "SKIP_SPLIT_FOL": True,
    }
    with _quiet():
        dataset = trackeval.datasets.MotChallenge2DBox(config)
        metrics = [trackeval.metrics.HOTA(), trackeval.metrics.CLEAR({"THRESHOLD": MATCH_IOU, "PRINT_CONFIG": False}),
                   trackeval.metrics.Identity({"THRESHOLD": MATCH_IOU, "PRINT_CONFIG": False}),
                   trackeval.metrics.Count()]
        per_seq: dict[str, dict] = {}
        preprocessed: dict[str, dict] = {}
        for seq in seq_lengths:
            raw = dataset.get_raw_seq_data(tracker_folder, seq)
            data = dataset.get_preprocessed_seq_data(raw, _CLASS)
            per_seq[seq] = {m.get_name(): m.eval_sequence(data) for m in metrics}
            preprocessed[seq] = data
        combined = {m.get_name(): m.combine_sequences({s: r[m.get_name()] for s, r in per_seq.items()})
                    for m in metrics}
    return {**per_seq, "COMBINED": combined}, preprocessed


def _metrics_row(res: dict[str, dict]) -> dict[str, float | int]:
    """One table row from TrackEval's nested results (HOTA family averaged over alphas, as TrackEval summarises)."""
    hota, clear, ident, count = res["HOTA"], res["CLEAR"], res["Identity"], res["Count"]
    row: dict[str, float | int] = {k: float(np.mean(hota[k])) for k in HOTA_COLUMNS}
    row.update(MOTA=clear["MOTA"], MOTP=clear["MOTP"], MODA=clear["MODA"], Rcll=clear["CLR_Re"],
               Prcn=clear["CLR_Pr"], IDF1=ident["IDF1"], IDP=ident["IDP"], IDR=ident["IDR"])
    row.update(IDs=clear["IDSW"], Frag=clear["Frag"], FP=clear["CLR_FP"], FN=clear["CLR_FN"], TP=clear["CLR_TP"],
               MT=clear["MT"], PT=clear["PT"], ML=clear["ML"], IDTP=ident["IDTP"], IDFP=ident["IDFP"],
               IDFN=ident["IDFN"], GT_IDs=count["GT_IDs"], GT_Dets=count["GT_Dets"], Dets=count["Dets"],
               Tracker_IDs=count["IDs"], Frames=clear["CLR_Frames"])
    return {k: float(v) if k in RATE_COLUMNS else int(round(float(v))) for k, v in row.items()}


# ----------------------------------------------------------------------------------------------------------------
# py-motmetrics cross-check


def _motmetrics_accumulator(data: dict) -> Any:
    """Feed one preprocessed TrackEval sequence to py-motmetrics: same ids, same IoUs, same IoU ≥ 0.5 rule.

    motmetrics' own `iou_matrix` is not used (it calls np.asfarray, gone in numpy 2); distances are 1 − IoU with
    pairs below TrackEval's threshold marked NaN (do-not-pair).
    """
    import motmetrics as mm

    acc = mm.MOTAccumulator(auto_id=True)
    for gt_ids, trk_ids, sim in zip(data["gt_ids"], data["tracker_ids"], data["similarity_scores"]):
        sim = np.asarray(sim, dtype=np.float64).reshape(len(gt_ids), len(trk_ids))
        dist = 1.0 - sim
        dist[sim < MATCH_IOU - np.finfo(float).eps] = np.nan
        acc.update(np.asarray(gt_ids), np.asarray(trk_ids), dist)
    return acc


def _motmetrics_summary(preprocessed: dict[str, dict]) -> pd.DataFrame:
    """py-motmetrics' MOTA, IDF1, IDs, FP, FN (and the denominators) per sequence plus "COMBINED"."""
    import motmetrics as mm

    seqs = list(preprocessed)
    accs = [_motmetrics_accumulator(preprocessed[s]) for s in seqs]
    mh = mm.metrics.create()
    with np.errstate(divide="ignore", invalid="ignore"):
        summary = mh.compute_many(accs, names=seqs, generate_overall=True,
                                  metrics=["mota", "idf1", "num_switches", "num_false_positives", "num_misses",
                                           "num_objects", "num_predictions"])
    summary = summary.rename(index={"OVERALL": "COMBINED"}, columns={
        "mota": "MOTA", "idf1": "IDF1", "num_switches": "IDs", "num_false_positives": "FP", "num_misses": "FN",
        "num_objects": "num_objects", "num_predictions": "num_predictions"})
    return summary.astype(float)


def _crosscheck(metrics: pd.DataFrame, mm_summary: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Compare TrackEval and motmetrics row by row; a rate motmetrics leaves undefined (0/0 or x/0) is only
    accepted where its denominator really is zero — anything else beyond AGREEMENT_TOL is a disagreement."""
    rows, lines = [], []
    for seq in metrics.index:
        row: dict[str, Any] = {"seq": seq}
        worst = 0.0
        mm_row = mm_summary.loc[seq] if seq in mm_summary.index else None
        for name in CROSSCHECK_METRICS:
            te = float(metrics.at[seq, name])
            mm_val = float(mm_row[name]) if mm_row is not None else math.nan
            row[f"{name}_trackeval"], row[f"{name}_motmetrics"] = te, mm_val
            if not math.isfinite(mm_val) and mm_row is not None and _undefined_in_motmetrics(name, mm_row):
                continue  # e.g. MOTA without gt: motmetrics divides by 0 (±inf/NaN), TrackEval reports 0 or −FP
            diff = abs(te - mm_val) if math.isfinite(mm_val) else math.inf
            worst = max(worst, diff)
            if diff > AGREEMENT_TOL:
                lines.append(f"{seq}: {name} TrackEval={te:.10g} motmetrics={mm_val:.10g} (|diff|={diff:.3g})")
        row["max_abs_diff"] = worst
        row["agree"] = worst <= AGREEMENT_TOL
        rows.append(row)
    return pd.DataFrame(rows).set_index("seq"), lines


def _undefined_in_motmetrics(name: str, mm_row: pd.Series) -> bool:
    if name == "MOTA":
        return mm_row["num_objects"] == 0
    if name == "IDF1":
        return mm_row["num_objects"] + mm_row["num_predictions"] == 0
    return False


def _warn(lines: list[str], tracker_name: str) -> None:
    from rich.console import Console
    from rich.markup import escape

    console = Console(stderr=True)
    for line in lines:
        console.print(f"[bold red]TrackEval/py-motmetrics disagreement ({escape(tracker_name)}): {escape(line)}")
    if lines:
        console.print("[red]Reported numbers are TrackEval's. IDF1 must agree; IDs/FP/FN (and MOTA) can differ by "
                      "definition when a target is re-acquired after a gap (see bench/evaluation.py).")


# ----------------------------------------------------------------------------------------------------------------
# Public API


def evaluate(results_dir: Path, gt_root: Path, seqs: list[str] | None = None, benchmark: str | None = None,
             tracker_name: str = "tracker") -> EvalResult:
    """results_dir/<SEQ>.txt against gt_root/<SEQ>/gt/gt.txt (seq length from gt_root/<SEQ>/seqinfo.ini when present,
    otherwise the largest frame in gt or results). seqs=None → every <SEQ> folder in gt_root that has gt/gt.txt.
    benchmark=None → detect_benchmark."""
    results_dir, gt_root = Path(results_dir).resolve(), Path(gt_root).resolve()
    if not results_dir.is_dir():
        raise BenchError("results folder not found", results_dir, hint="expected <results_dir>/<SEQ>.txt")
    seqs = list(seqs) if seqs is not None else _discover_seqs(gt_root)
    if not seqs:
        raise BenchError("no sequences to evaluate", gt_root)
    if len(set(seqs)) != len(seqs):
        raise BenchError(f"sequence listed twice in {seqs}", gt_root)

    gts = {s: _load(_gt_path(gt_root, s), read_gt) for s in seqs}
    results = {s: _load(results_dir / f"{s}.txt", read_results) for s in seqs}
    if benchmark is None:
        benchmark = _benchmark_of(list(gts.values()))
    benchmark = benchmark.upper()
    if benchmark not in BENCHMARKS:
        raise BenchError(f"unknown benchmark {benchmark!r}", hint=f"use one of {', '.join(BENCHMARKS)}")

    lengths: dict[str, int] = {}
    for s in seqs:
        _check_gt(gts[s], benchmark)
        _check_results(results[s])
        ini_length = _seq_length_from_ini(gt_root / s)
        if ini_length is None:
            frames = [f.rows[:, 0].max() for f in (gts[s], results[s]) if len(f.rows)]
            lengths[s] = int(max(frames, default=1))
        else:
            lengths[s] = ini_length
            for f in (gts[s], results[s]):
                _check_length(f, ini_length, gt_root / s / "seqinfo.ini")

    import trackeval

    try:
        with _trackeval_layout(results_dir, gt_root, seqs, gts, results) as (gt_folder, trk_folder, trk_name):
            te, preprocessed = _run_trackeval(gt_folder, trk_folder, trk_name, tracker_name, lengths, benchmark)
    except trackeval.utils.TrackEvalException as e:  # validation above should make this unreachable
        raise BenchError(f"TrackEval could not evaluate these results: {e}", results_dir) from None

    metrics = pd.DataFrame([{"seq": s, **_metrics_row(te[s])} for s in [*seqs, "COMBINED"]]).set_index("seq")
    metrics = metrics[list(RATE_COLUMNS + COUNT_COLUMNS)]
    crosscheck, disagreements = _crosscheck(metrics, _motmetrics_summary(preprocessed))
    if disagreements:
        _warn(disagreements, tracker_name)
    return EvalResult(metrics=metrics, crosscheck=crosscheck, disagreements=disagreements, benchmark=benchmark)


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
        "metrics": _table_json(result.metrics),
        "crosscheck": _table_json(result.crosscheck),
        "disagreements": list(result.disagreements),
        "agrees": result.agrees,
    }
