"""Reading and writing MOTChallenge files, with one clear error per bad line.

Formats (comma-separated, one box per line, frames 1-based, boxes as left, top, width, height):
- det.txt:  frame, -1, x, y, w, h, score[, -1, -1, -1]           (7 to 10 columns)
- gt.txt:   frame, id, x, y, w, h, conf, class, visibility       (MOT17/MOT20: 9 columns; MOT15: 10 with -1s)
- results:  frame, id, x, y, w, h, score, -1, -1, -1             (what trackers write)
Empty files and frames without boxes are normal (a frame with no line has no boxes). A frame past the sequence's
`seqLength` is an error naming the line; det and gt files in the MOTChallenge layout (SEQ/det/det.txt,
SEQ/gt/gt.txt) are checked against SEQ/seqinfo.ini when it exists.
"""

from __future__ import annotations

import configparser
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.core.errors import BenchError
from bench.core.fsutil import atomic_path

GT_COLUMNS = ["frame", "id", "x", "y", "w", "h", "conf", "cls", "vis"]
MAX_ABS_VALUE = 1e9  # larger values are corrupt: frames/ids must fit integer arrays, x + w must not overflow to inf


@dataclass(frozen=True)
class SeqInfo:
    """The `[Sequence]` section of a MOTChallenge `seqinfo.ini`."""

    name: str
    length: int
    width: int
    height: int
    fps: float
    im_dir: str = "img1"
    im_ext: str = ".jpg"


def _sequence_section(path: Path) -> configparser.SectionProxy:
    """The [Sequence] section; a BOM (Windows editors write one) is skipped, any problem is one line."""
    parser = configparser.ConfigParser()
    try:
        parser.read_string(path.read_bytes().decode("utf-8-sig"), source=str(path))
        return parser["Sequence"]
    except UnicodeDecodeError as e:
        raise BenchError(f"bad seqinfo.ini: not UTF-8 text ({_not_utf8(path, e)})", path) from None
    except (KeyError, configparser.Error) as e:
        what = "no [Sequence] section" if isinstance(e, KeyError) else " ".join(str(e).split())
        raise BenchError(f"bad seqinfo.ini ({what})", path,
                         hint="it needs [Sequence] with seqLength, imWidth, imHeight and frameRate") from None


def _positive_int(section: configparser.SectionProxy, key: str, path: Path, default: str | None = None) -> int:
    """seqinfo.ini's `key` as a positive finite integer (30 and 30.0 alike), else one line naming file, key, value."""
    raw = section.get(key, default)
    if raw is None:
        raise BenchError(f"bad seqinfo.ini: no {key}", path, hint=f"add {key}=<positive integer> under [Sequence]")
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 1 and value == int(value) and value <= MAX_ABS_VALUE):
        raise BenchError(f"bad seqinfo.ini: {key}={raw!r} must be a positive integer", path,
                         hint=f"fix {key} under [Sequence]")
    return int(value)


def read_seqinfo(seq_dir: str | Path) -> SeqInfo:
    path = Path(seq_dir) / "seqinfo.ini"
    if not path.is_file():
        raise BenchError("missing seqinfo.ini", path, hint="every sequence folder needs one (MOTChallenge layout)")
    s = _sequence_section(path)
    return SeqInfo(
        name=s.get("name", Path(seq_dir).name),
        length=_positive_int(s, "seqLength", path),
        width=_positive_int(s, "imWidth", path),
        height=_positive_int(s, "imHeight", path),
        fps=float(_positive_int(s, "frameRate", path, default="30")),
        im_dir=s.get("imDir", "img1"),
        im_ext=s.get("imExt", ".jpg"),
    )


def read_seq_length(seq_dir: str | Path) -> int | None:
    """seqLength of `seq_dir/seqinfo.ini`, or None when there is no ini: all that scoring needs (ground-truth folders
    may carry an ini without the image keys `read_seqinfo` requires)."""
    path = Path(seq_dir) / "seqinfo.ini"
    if not path.is_file():
        return None
    return _positive_int(_sequence_section(path), "seqLength", path)


def write_seqinfo(seq_dir: str | Path, info: SeqInfo) -> None:
    text = (
        "[Sequence]\n"
        f"name={info.name}\nimDir={info.im_dir}\nframeRate={info.fps:g}\nseqLength={info.length}\n"
        f"imWidth={info.width}\nimHeight={info.height}\nimExt={info.im_ext}\n"
    )
    with atomic_path(Path(seq_dir) / "seqinfo.ini") as tmp:
        tmp.write_text(text)


def _parse_rows(path: Path, min_cols: int, max_cols: int, what: str, seq_length: int | None) -> np.ndarray:
    """Parse a MOTChallenge text file into a float array, failing on the first bad line with its number."""
    if not path.is_file():
        raise BenchError(f"missing {what} file", path, hint=f"expected a MOTChallenge {what} file here")
    rows: list[list[float]] = []
    try:
        with open(path, encoding="utf-8-sig") as f:  # -sig: a leading BOM (Windows editors) is not data
            lines = list(f)  # universal newlines, numbered as editors (and bench.evaluate.score) number them
    except (OSError, UnicodeDecodeError) as e:
        raise BenchError(f"cannot read {what} file ({_not_utf8(path, e)})", path, hint="it must be UTF-8 text") from None
    for lineno, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        parts = [p.strip() for p in line.split(",")]
        if not (min_cols <= len(parts) <= max_cols):
            raise BenchError(
                f"expected {min_cols} to {max_cols} comma-separated values, got {len(parts)}",
                path,
                lineno,
                hint=f"fix or remove this line ({what} format)",
            )
        try:
            vals = [float(p) for p in parts]
        except ValueError:
            if "\ufeff" in line:
                raise BenchError("a byte-order mark (U+FEFF) inside the file (files joined together?)", path, lineno,
                                 hint="remove it") from None
            raise BenchError(f"non-numeric value in {line!r}", path, lineno, hint="fix or remove this line") from None
        if not all(math.isfinite(v) for v in vals):
            raise BenchError("NaN or infinite value", path, lineno, hint="fix or remove this line")
        if any(abs(v) > MAX_ABS_VALUE for v in vals):
            raise BenchError(f"value beyond ±{MAX_ABS_VALUE:g} in {line!r}", path, lineno, hint="fix or remove it")
        frame, ident = vals[0], vals[1]
        if frame < 1 or frame != int(frame):
            raise BenchError(f"frame must be a positive integer, got {parts[0]}", path, lineno, hint="1-based frames")
        if seq_length is not None and frame > seq_length:
            raise BenchError(
                f"frame {int(frame)} is past the sequence end ({seq_length} frames: seqLength in seqinfo.ini)",
                path,
                lineno,
                hint="fix or remove this line, or fix seqLength",
            )
        if ident != int(ident):
            raise BenchError(f"id must be an integer, got {parts[1]}", path, lineno, hint="fix or remove this line")
        if vals[4] <= 0 or vals[5] <= 0:
            raise BenchError(
                f"box width and height must be positive, got w={parts[4]} h={parts[5]}",
                path,
                lineno,
                hint="fix or remove this line",
            )
        rows.append(vals + [-1.0] * (max_cols - len(vals)))
    if not rows:
        return np.zeros((0, max_cols), dtype=np.float64)
    return np.asarray(rows, dtype=np.float64)


def _not_utf8(path: Path, e: Exception) -> str:
    """Why a text file did not decode, naming UTF-16 (Windows' "Unicode" encoding) when its BOM says so."""
    if isinstance(e, UnicodeDecodeError):
        try:
            with open(path, "rb") as f:
                head = f.read(2)
        except OSError:
            head = b""
        if head in (b"\xff\xfe", b"\xfe\xff"):
            return "it is UTF-16 text; save it as UTF-8"
    return str(e)


def _layout_length(path: Path, seq_length: int | None) -> int | None:
    """`seq_length`, else seqLength of SEQ/seqinfo.ini for a file at SEQ/<det|gt>/<file> (None when there is none)."""
    if seq_length is None and (path.parent.parent / "seqinfo.ini").is_file():
        return read_seqinfo(path.parent.parent).length
    return seq_length


def read_detections(path: str | Path, seq_length: int | None = None) -> np.ndarray:
    """Read det.txt → (N, 6) array of frame, x1, y1, x2, y2, score, sorted by frame (stable).

    Frames must lie in 1..seq_length (default: seqLength of the MOTChallenge layout's seqinfo.ini, if any)."""
    path = Path(path)
    raw = _parse_rows(path, 7, 10, "detection", _layout_length(path, seq_length))
    out = np.zeros((len(raw), 6), dtype=np.float64)
    if len(raw):
        out[:, 0] = raw[:, 0]
        out[:, 1] = raw[:, 2]
        out[:, 2] = raw[:, 3]
        out[:, 3] = raw[:, 2] + raw[:, 4]
        out[:, 4] = raw[:, 3] + raw[:, 5]
        out[:, 5] = raw[:, 6]
        out = out[np.argsort(out[:, 0], kind="stable")]
    return out


def read_gt(path: str | Path, seq_length: int | None = None) -> np.ndarray:
    """Read gt.txt → (N, 9) array in `GT_COLUMNS` order (x, y, w, h as in the file). MOT15 files get -1 class/vis.

    Frames must lie in 1..seq_length (default: seqLength of the MOTChallenge layout's seqinfo.ini, if any)."""
    path = Path(path)
    raw = _parse_rows(path, 6, 10, "ground-truth", _layout_length(path, seq_length))
    return raw[:, :9]


def read_results(path: str | Path, seq_length: int | None = None) -> np.ndarray:
    """Read a tracker result file → (N, 7): frame, id, x, y, w, h, score (frames in 1..seq_length when given)."""
    raw = _parse_rows(Path(path), 6, 10, "tracking result", seq_length)
    return raw[:, :7]


def split_by_frame(dets: np.ndarray, num_frames: int) -> list[np.ndarray]:
    """(N, 6) frame-tagged rows → list of per-frame (n, 5) arrays x1, y1, x2, y2, score for frames 1..num_frames."""
    frames = dets[:, 0].astype(np.int64)
    if len(frames) and frames.max() > num_frames:
        num_frames = int(frames.max())
    order = np.argsort(frames, kind="stable")
    dets, frames = dets[order], frames[order]
    bounds = np.searchsorted(frames, np.arange(1, num_frames + 2))
    return [dets[bounds[i] : bounds[i + 1], 1:6] for i in range(num_frames)]


def split_active_frames(dets: np.ndarray, num_frames: int, idle: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Like `split_by_frame`, but a run of empty frames longer than `idle` is cut to `idle` frames.

    Returns (per-step arrays, the frame number of each step). Steps are frame 1 and every frame with detections,
    each followed by up to `idle` frames, so memory and time follow the rows, not the largest frame number. Exact for
    a tracker that holds no track after `idle` frames without detections and outputs nothing without tracks.
    """
    frames = dets[:, 0].astype(np.int64)
    if len(frames) and not 1 <= frames.min() <= frames.max() <= num_frames:
        raise ValueError(f"detection frames {frames.min()}..{frames.max()} outside 1..{num_frames}")
    order = np.argsort(frames, kind="stable")
    dets, frames = dets[order], frames[order]
    anchors = np.unique(np.concatenate([[1], frames]))
    ends = np.minimum(np.append(anchors[1:], num_frames + 1), anchors + idle + 1)  # exclusive
    lengths = ends - anchors
    starts = np.repeat(anchors, lengths)
    steps = starts + np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    lo, hi = np.searchsorted(frames, steps, side="left"), np.searchsorted(frames, steps, side="right")
    empty = dets[:0, 1:6]
    return [dets[a:b, 1:6] if b > a else empty for a, b in zip(lo, hi)], steps


def write_results(path: str | Path, rows: np.ndarray) -> None:
    """Write (N, 7) frame, id, x, y, w, h, score rows in MOTChallenge result format, atomically."""
    lines = [f"{int(r[0])},{int(r[1])},{r[2]:.2f},{r[3]:.2f},{r[4]:.2f},{r[5]:.2f},{r[6]:.2f},-1,-1,-1\n" for r in rows]
    with atomic_path(path) as tmp:
        tmp.write_text("".join(lines))


def write_gt(path: str | Path, rows: np.ndarray) -> None:
    """Write (N, 9) MOT17-style gt rows, atomically."""
    lines = [
        f"{int(r[0])},{int(r[1])},{r[2]:.2f},{r[3]:.2f},{r[4]:.2f},{r[5]:.2f},{int(r[6])},{int(r[7])},{r[8]:.4f}\n"
        for r in rows
    ]
    with atomic_path(path) as tmp:
        tmp.write_text("".join(lines))


def write_detections(path: str | Path, rows: np.ndarray) -> None:
    """Write (N, 6) frame, x1, y1, x2, y2, score rows as a 10-column det.txt, atomically."""
    lines = [
        f"{int(r[0])},-1,{r[1]:.2f},{r[2]:.2f},{r[3] - r[1]:.2f},{r[4] - r[2]:.2f},{r[5]:.6f},-1,-1,-1\n" for r in rows
    ]
    with atomic_path(path) as tmp:
        tmp.write_text("".join(lines))
