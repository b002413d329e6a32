"""MOTChallenge gt/result files parsed once, with line numbers (their gt format and benchmark: bench.data.benchmarks).

`load_rows` reads a file with pandas' C parser; whenever that fast path sees anything unusual (ragged lines, a
non-numeric, NaN or infinite value, a bad frame or box size) it re-reads the file with `bench.data.mot_io`, whose
line-by-line reader raises the one `BenchError` naming file and line, or accepts what it accepts. The values equal
`bench.data.mot_io`'s (pandas' default float parser is exact to the last bit; a test compares both on a large file).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bench.data.mot_io import read_gt, read_results

_KINDS = {"gt": (read_gt, 9), "results": (read_results, 7)}  # reader, columns kept (bench.data.mot_io's layout)


@dataclass
class TextRows:
    """A parsed MOTChallenge file: rows as `bench.data.mot_io` returns them plus where each row came from."""

    path: Path
    rows: np.ndarray  # gt: 9 columns (frame, id, x, y, w, h, conf, class, vis); results: 7 (..., score)
    lines: np.ndarray  # 1-based line number of each row
    ncols: np.ndarray  # number of comma-separated values on each row's line
    col8: np.ndarray  # the 8th value of each line (class column), NaN where the line is shorter

    def line_of(self, mask: np.ndarray) -> int:
        return int(self.lines[int(np.flatnonzero(mask)[0])])


def load_rows(path: Path, kind: str) -> TextRows:
    """Parse a gt ("gt") or tracker result ("results") file; BenchError with file:line for a bad line."""
    reader, keep = _KINDS[kind]
    if not path.is_file():
        reader(path)  # raises the missing-file BenchError
    try:
        text = path.read_text(encoding="utf-8-sig")  # -sig: a leading BOM (Windows editors) is not data
    except UnicodeDecodeError:
        return _slow_parse(path, reader, keep)  # its reader names the problem
    lines = np.asarray([i for i, line in enumerate(text.split("\n"), start=1) if line.strip()], dtype=np.int64)
    fast = _fast_parse(text, len(lines))
    if fast is None:
        return _slow_parse(path, reader, keep)
    ncols = fast.shape[1] if len(fast) else 0
    rows = np.concatenate([fast, np.full((len(fast), max(10 - ncols, 0)), -1.0)], axis=1)[:, :keep]
    col8 = fast[:, 7] if ncols >= 8 else np.full(len(fast), math.nan)
    return TextRows(path, rows.reshape(-1, keep), lines, np.full(len(fast), ncols, dtype=np.int64), col8)


def _fast_parse(text: str, n_lines: int) -> np.ndarray | None:
    """All lines as one float array, or None when anything needs the line-by-line reader's judgement."""
    if n_lines == 0:
        return np.zeros((0, 10))
    try:
        arr = pd.read_csv(io.StringIO(text), header=None, dtype=np.float64).to_numpy()
    except (ValueError, pd.errors.ParserError):
        return None
    if arr.shape[0] != n_lines or not 6 <= arr.shape[1] <= 10 or not np.isfinite(arr).all():
        return None
    frames = arr[:, 0]
    if (frames < 1).any() or (frames != np.floor(frames)).any() or (arr[:, 4] <= 0).any() or (arr[:, 5] <= 0).any():
        return None
    return arr


def _slow_parse(path: Path, reader, keep: int) -> TextRows:
    rows = reader(path)  # raises BenchError for a malformed line
    lines, ncols, col8 = [], [], []
    with open(path, encoding="utf-8-sig") as f:
        for lineno, raw in enumerate(f, start=1):
            text = raw.strip()
            if not text:
                continue
            parts = text.split(",")
            lines.append(lineno)
            ncols.append(len(parts))
            col8.append(float(parts[7]) if len(parts) >= 8 else math.nan)
    return TextRows(path, rows.reshape(-1, keep), np.asarray(lines, dtype=np.int64), np.asarray(ncols, dtype=np.int64),
                    np.asarray(col8, dtype=np.float64))


def gt_path(gt_root: Path, seq: str) -> Path:
    return Path(gt_root) / seq / "gt" / "gt.txt"
