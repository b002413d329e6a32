"""TrackEval on rows bench has already parsed and checked: one sequence at a time, nothing printed or written.

TrackEval's `MotChallenge2DBox` dataset does the benchmark preprocessing (distractor removal, zero-marked gt, MOT20's
vehicles), with each benchmark's settings (`bench.data.benchmarks.PROTOCOLS`) and its HOTA, CLEAR, Identity and Count metrics score the result, exactly as `trackeval.eval` does per
sequence. Only its text reader is bypassed: `_load_raw_file` builds the same per-frame arrays from bench's rows, so
each file is parsed once (tests compare it with TrackEval's own reader). Its per-frame duplicate-id check is skipped
too: `bench.evaluate.inputs` has already rejected duplicate ids (naming file and line), and preprocessing only drops rows
and renumbers ids one-to-one, so the check cannot fire (it only cost time; it never changes a number). TrackEval
stays quiet through its own switches: PRINT_CONFIG off for the dataset and every metric; its Evaluator (whose
PRINT_RESULTS, TIME_PROGRESS, OUTPUT_SUMMARY, OUTPUT_DETAILED, PLOT_CURVES and an unconditional "Evaluating ..." line
only matter there) is not used, so no summary, plot or error log is written and sys.stdout/sys.stderr are left alone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.core import metric_catalog
from bench.data.benchmarks import PROTOCOLS
from bench.data.mot_fast import TextRows

MATCH_IOU = 0.5  # TrackEval's CLEAR/Identity threshold (and motmetrics' usual max distance 1 - 0.5)
CLASS = "pedestrian"
_TRACKER = "tracker"

# Output column order (the catalog's): HOTA family (alpha-averaged), CLEAR, Identity, counts.
HOTA_COLUMNS = ("HOTA", "DetA", "AssA", "LocA", "DetRe", "DetPr", "AssRe", "AssPr")
RATE_COLUMNS = tuple(n for n in metric_catalog.TRACKEVAL if metric_catalog.CATALOG[n].kind == "rate")
COUNT_COLUMNS = tuple(n for n in metric_catalog.TRACKEVAL if metric_catalog.CATALOG[n].kind == "count")


def _metrics() -> list:
    import trackeval

    return [trackeval.metrics.HOTA(), trackeval.metrics.CLEAR({"THRESHOLD": MATCH_IOU, "PRINT_CONFIG": False}),
            trackeval.metrics.Identity({"THRESHOLD": MATCH_IOU, "PRINT_CONFIG": False}), trackeval.metrics.Count()]


def _frame_slices(rows: np.ndarray, length: int) -> list[slice]:
    """Row ranges of frames 1..length in `rows` (sorted by frame)."""
    bounds = np.searchsorted(rows[:, 0], np.arange(1, length + 2), side="left")
    return [slice(int(bounds[t]), int(bounds[t + 1])) for t in range(length)]


def raw_arrays(f: TextRows, length: int, is_gt: bool) -> dict:
    """What `MotChallenge2DBox._load_raw_file` returns for this file, built from the parsed rows."""
    order = np.argsort(f.rows[:, 0], kind="stable")  # TrackEval keeps file order within a frame
    rows = f.rows[order]
    ncols = int(f.ncols[0]) if len(f.rows) else 0
    classes = (rows[:, 7] if is_gt else f.col8[order]) if ncols >= 8 else np.ones(len(rows))
    ids, dets, classes, conf = rows[:, 1].astype(int), rows[:, 2:6], classes.astype(int), rows[:, 6]
    prefix = "gt" if is_gt else "tracker"
    out: dict = {f"{prefix}_ids": [], f"{prefix}_classes": [], f"{prefix}_dets": []}
    extra_key = "gt_extras" if is_gt else "tracker_confidences"
    out[extra_key] = []
    for s in _frame_slices(rows, length):
        out[f"{prefix}_ids"].append(ids[s])
        out[f"{prefix}_classes"].append(classes[s])
        out[f"{prefix}_dets"].append(dets[s])
        out[extra_key].append({"zero_marked": conf[s].astype(int)} if is_gt else conf[s])
    if is_gt:
        out["gt_crowd_ignore_regions"] = [np.empty((0, 4)) for _ in range(length)]
    return out


def _dataset(results_dir: Path, gt_root: Path, seq: str, length: int, benchmark: str,
             gt: TextRows, res: TextRows):
    import trackeval

    te_benchmark, do_preproc = PROTOCOLS[benchmark]  # e.g. "none" → DO_PREPROC off

    class ParsedRows(trackeval.datasets.MotChallenge2DBox):
        def _load_raw_file(self, tracker, seq_name, is_gt):  # noqa: ARG002 - TrackEval's signature
            raw = raw_arrays(gt if is_gt else res, length, is_gt)
            return {**raw, "num_timesteps": length, "seq": seq_name}

        @staticmethod
        def _check_unique_ids(data, after_preproc=False):  # noqa: ARG004 - see the module docstring
            return None

    return ParsedRows({
        "GT_FOLDER": str(gt_root), "TRACKERS_FOLDER": str(results_dir.parent), "OUTPUT_FOLDER": None,
        "TRACKERS_TO_EVAL": [results_dir.name], "TRACKER_DISPLAY_NAMES": [_TRACKER], "CLASSES_TO_EVAL": [CLASS],
        "BENCHMARK": te_benchmark, "SPLIT_TO_EVAL": "train", "INPUT_AS_ZIP": False, "PRINT_CONFIG": False,
        "DO_PREPROC": do_preproc, "TRACKER_SUB_FOLDER": "", "OUTPUT_SUB_FOLDER": "", "SEQ_INFO": {seq: length},
        "GT_LOC_FORMAT": "{gt_folder}/{seq}/gt/gt.txt", "SKIP_SPLIT_FOL": True,
    })


def preprocess(results_dir: Path, gt_root: Path, seq: str, length: int, benchmark: str,
               gt: TextRows, res: TextRows, rows: bool = False) -> dict:
    """TrackEval's preprocessed data of one sequence (ids relabelled 0..n-1, IoUs in `similarity_scores`). With
    `rows`, also `gt_rows` / `tracker_rows`: per timestep, the index into `gt.rows` / `res.rows` of each box TrackEval
    kept (so its relabelled ids can be traced back to the files' ids, boxes and visibility)."""
    dataset = _dataset(results_dir, gt_root, seq, length, benchmark, gt, res)
    raw = dataset.get_raw_seq_data(results_dir.name, seq)
    if not rows:
        return dataset.get_preprocessed_seq_data(raw, CLASS)
    # Preprocessing only deletes or masks rows of gt_dets/tracker_dets (the IoUs are already in the raw data), so a
    # row-index column carried through them comes out beside exactly the boxes that were kept; it is split off again.
    for key, f in (("gt_dets", gt), ("tracker_dets", res)):
        raw[key] = [np.column_stack([d, i]) for d, i in zip(raw[key], _row_indices(f, length))]
    data = dataset.get_preprocessed_seq_data(raw, CLASS)
    for key, rows_key in (("gt_dets", "gt_rows"), ("tracker_dets", "tracker_rows")):
        data[rows_key] = [d[:, 4].astype(np.int64) for d in data[key]]
        data[key] = [d[:, :4] for d in data[key]]
    return data


def _row_indices(f: TextRows, length: int) -> list[np.ndarray]:
    """Per frame, the indices into `f.rows` of the rows `raw_arrays` puts in that frame, in its order."""
    order = np.argsort(f.rows[:, 0], kind="stable")
    return [order[s] for s in _frame_slices(f.rows[order], length)]


def score(data: dict) -> dict[str, dict]:
    """{metric name: TrackEval's per-sequence result} for preprocessed data."""
    return {m.get_name(): m.eval_sequence(data) for m in _metrics()}


def combine(per_seq: dict[str, dict[str, dict]]) -> dict[str, dict]:
    """TrackEval's COMBINED over sequences (as its Evaluator combines them)."""
    return {m.get_name(): m.combine_sequences({s: r[m.get_name()] for s, r in per_seq.items()}) for m in _metrics()}


def metrics_row(res: dict[str, dict]) -> dict[str, float | int]:
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
