"""Pictures of identity errors: a strip per event (crops around the gt box over the frames around it, both trackers'
boxes and ids drawn) and per sequence an identity timeline ("barcode") of two trackers.

Strip: one column per frame (before the gt's last match, through the gap, the event, after it), row A above row B;
every crop is the same window (1.5 × the gt box's height at the event, centred on the gt box of that frame), so the
people and objects around it — the occluder — stay in view. The gt box is white with its id, each tracker box a
colour of its id (the same colour as in the barcode) with the id written; the event's column is framed red; frame
number and the gt box's visibility are written above each column. Saved as 128-colour PNG (about 100-200 kB
on synth; `errors_section` caps the total).

Barcode: one row per gt identity (by first frame), one column per frame; colour = the tracker id CLEAR matched it to,
light grey = present but unmatched, white = absent; black ticks at ID switches. A above B.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from bench.core.fsutil import atomic_path
from bench.data.mot_fast import TextRows, gt_path, load_rows

CELL_H = 144  # px: each crop's height in a strip
MAX_COLUMNS = 8
CONTEXT = 1.5  # crop height / gt box height (and width / height = 0.95): room for the occluder
_PALETTE = [  # tab20 without its greys, so no id looks like "unmatched"
    (31, 119, 180), (174, 199, 232), (255, 127, 14), (255, 187, 120), (44, 160, 44), (152, 223, 138),
    (214, 39, 40), (255, 152, 150), (148, 103, 189), (197, 176, 213), (140, 86, 75), (196, 156, 148),
    (227, 119, 194), (247, 182, 210), (188, 189, 34), (219, 219, 141), (23, 190, 207), (158, 218, 229)]
UNMATCHED = (215, 215, 215)
ABSENT = (255, 255, 255)


def id_colour(track_id: float) -> tuple[int, int, int]:
    """A track id's colour: neighbouring ids get far-apart palette entries."""
    return _PALETTE[(int(track_id) * 7) % len(_PALETTE)]


@dataclass(frozen=True)
class SequenceImages:
    folder: Path
    ext: str
    length: int

    def path(self, frame: int) -> Path:
        return self.folder / f"{frame:06d}{self.ext}"


def sequence_images(gt_root: Path, seq: str) -> SequenceImages | None:
    """The sequence's frames, or None when it has none to crop from (no seqinfo.ini image keys, no image folder, or
    no first frame): then events and barcodes are drawn and strips are not."""
    from bench.core.errors import BenchError
    from bench.data.mot_io import read_seqinfo

    try:
        info = read_seqinfo(Path(gt_root) / seq)
    except BenchError:
        return None
    imgs = SequenceImages(Path(gt_root) / seq / info.im_dir, info.im_ext, info.length)
    return imgs if imgs.path(1).is_file() else None


@cache
def _font(size: int):
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def strip_frames(last_frame: int, frame: int, length: int) -> list[int]:
    """Frames shown for an event: 2 before and at the last match, up to 3 inside the gap, the event, 2 after."""
    inner = np.unique(np.linspace(last_frame + 1, frame - 1, min(3, max(frame - last_frame - 1, 0))).round())
    frames = [last_frame - 4, last_frame - 2, last_frame, *inner.astype(int).tolist(), frame, frame + 2, frame + 4]
    frames = sorted({f for f in frames if 1 <= f <= length})
    while len(frames) > MAX_COLUMNS:  # drop the earliest context first
        frames.pop(0)
    return frames


def _box_of(own: pd.DataFrame, frame: int) -> np.ndarray:
    """The gt box (x, y, w, h) of one identity (`own`: its gt rows) at `frame`, else at its nearest frame."""
    i = int(np.argmin(np.abs(own["frame"].to_numpy() - frame)))
    return own[["x", "y", "w", "h"]].to_numpy()[i]


def draw_strip(event: pd.Series, a: str, b: str, imgs: SequenceImages, gt: pd.DataFrame,
               res: dict[str, pd.DataFrame], out: Path, assigned: dict[str, pd.DataFrame] | None = None) -> Path:
    """One event's strip (see the module doc). `gt`/`res[tracker]`: the sequence's rows as frames with columns
    frame, id, x, y, w, h (gt also vis). `assigned[tracker]` (`bench.evaluate.events.sequence_assignments`): the
    evaluation's matches, to write the ids of the tracker without the switch at the last match and at the event
    (so a "fixed" switch shows whether A kept the id or missed the person)."""
    from PIL import Image, ImageDraw

    frames = strip_frames(int(event["last_frame"]), int(event["frame"]), imgs.length)
    gt_id = int(event["gt_id"])
    ch = CELL_H
    cw = int(round(ch * 0.95))
    win_h = CONTEXT * float(event["h"])
    win_w = win_h * 0.95
    label_w, head_h, col_h, pad = 118, 34, 28, 4
    width = label_w + len(frames) * (cw + pad)
    height = head_h + col_h + 2 * (ch + pad)
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    draw.text((6, 4), _title(event, a, b), fill=(0, 0, 0), font=_font(13))
    scale = ch / win_h
    own = gt[gt["id"] == gt_id]  # the rows drawn, selected once (not per frame and tracker out of whole sequences)
    shown = {t: res[t].loc[res[t]["frame"].isin(frames), ["frame", "x", "y", "w", "h", "id"]].to_numpy()
             for t in (a, b)}
    for c, f in enumerate(frames):
        x0 = label_w + c * (cw + pad)
        box = _box_of(own, f)
        cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
        left, top = cx - win_w / 2, cy - win_h / 2
        crop = _crop(imgs.path(f), left, top, win_w, win_h).resize((cw, ch))
        here = own[own["frame"] == f]
        vis = f"v {float(here['vis'].iloc[0]):.2f}" if len(here) and np.isfinite(here["vis"].iloc[0]) else (
            "v –" if len(here) else "no gt box")
        draw.text((x0 + 2, head_h + 2), f"frame {f}", fill=(0, 0, 0), font=_font(12))
        draw.text((x0 + 2, head_h + 14), vis, fill=(90, 90, 90), font=_font(11))
        for r, tracker in enumerate((a, b)):
            y0 = head_h + col_h + r * (ch + pad)
            cell = crop.copy()
            d = ImageDraw.Draw(cell)
            rows = shown[tracker]
            for _, x, y, w, h, track_id in rows[rows[:, 0] == f]:
                _draw_box(d, x, y, w, h, left, top, scale, id_colour(track_id), str(int(track_id)))
            if len(here):
                g = here.iloc[0]
                _draw_box(d, g["x"], g["y"], g["w"], g["h"], left, top, scale, (255, 255, 255), f"gt {gt_id}",
                          width=1, below=True)
            canvas.paste(cell, (x0, y0))
            if f == int(event["frame"]):
                draw.rectangle((x0 - 2, y0 - 2, x0 + cw + 1, y0 + ch + 1), outline=(220, 0, 0), width=3)
    for r, tracker in enumerate((a, b)):
        y0 = head_h + col_h + r * (ch + pad)
        before, after = event[f"{'ab'[r]}_before"], event[f"{'ab'[r]}_after"]
        if np.isfinite(before):
            lines = ["switch", f"{_id(before)} -> {_id(after)}"]
        else:
            lines = ["no switch"]
            if assigned is not None and tracker in assigned:
                m = assigned[tracker]
                m = m[m["gt_id"] == gt_id].set_index("frame")["track_id"]
                at = [float(m.get(int(event[k]), np.nan)) for k in ("last_frame", "frame")]
                lines.append(f"{_id(at[0], 'missed')} -> {_id(at[1], 'missed')}")
        draw.text((4, y0 + 4), f"{'AB'[r]}: {tracker}", fill=(0, 0, 0), font=_font(12))
        for j, line in enumerate(lines):
            draw.text((4, y0 + 20 + 15 * j), line, fill=(0, 0, 0), font=_font(12))
    with atomic_path(out) as tmp:
        # fast octree: ~0.08 s a strip against median cut's ~0.24 s, files ~20% smaller, no difference to the eye;
        # zlib level 6 rather than optimize (level 9): 3.7x faster to write, files 1.7% larger
        canvas.quantize(128, method=Image.Quantize.FASTOCTREE).save(tmp, format="PNG", compress_level=6)
    return out


def _crop(path: Path, left: float, top: float, w: float, h: float):
    """The window (left, top, w, h) of an image, grey where it reaches past the image's edge."""
    from PIL import Image

    box = (round(left), round(top), round(left + w), round(top + h))
    out = Image.new("RGB", (box[2] - box[0], box[3] - box[1]), (160, 160, 160))
    with Image.open(path) as im:
        im = im.convert("RGB")
        inner = (max(box[0], 0), max(box[1], 0), min(box[2], im.width), min(box[3], im.height))
        if inner[0] < inner[2] and inner[1] < inner[3]:
            out.paste(im.crop(inner), (inner[0] - box[0], inner[1] - box[1]))
    return out


def _id(v: float, missing: str = "–") -> str:
    return str(int(v)) if np.isfinite(v) else missing


def _title(e: pd.Series, a: str, b: str) -> str:
    who = {"fixed": f"fixed by {a} ({b} switches)", "caused": f"caused by {a} ({b} does not switch)",
           "both": "both switch"}[e["status"]]
    vis = "" if not math.isfinite(e["min_visibility"]) else f", min visibility {e['min_visibility']:.2f}"
    return (f"{e['seq']}  gt {int(e['gt_id'])}  frame {int(e['frame'])}: {who}; last matched at frame "
            f"{int(e['last_frame'])} (gap {int(e['gap'])}{vis})")


def _draw_box(d, x, y, w, h, left, top, scale, colour, text, width=2, below=False) -> None:
    x1, y1 = (x - left) * scale, (y - top) * scale
    x2, y2 = (x + w - left) * scale, (y + h - top) * scale
    d.rectangle((x1, y1, x2, y2), outline=colour, width=width)
    font = _font(11)
    tw = d.textlength(text, font=font)
    ty = y2 + 1 if below else y1 - 13
    d.rectangle((x1, ty, x1 + tw + 3, ty + 12), fill=colour)
    d.text((x1 + 2, ty), text, fill=(0, 0, 0) if sum(colour) > 380 else (255, 255, 255), font=font)


def barcode_image(assign: pd.DataFrame, order: list[int], length: int) -> np.ndarray:
    """(identities × frames × 3) uint8 image of one tracker's assignments."""
    img = np.full((len(order), length, 3), ABSENT, dtype=np.uint8)
    row_of = {g: i for i, g in enumerate(order)}
    r = assign["gt_id"].map(row_of).to_numpy()
    c = assign["frame"].to_numpy() - 1
    img[r, c] = UNMATCHED
    m = assign["track_id"].notna().to_numpy()
    img[r[m], c[m]] = np.asarray([id_colour(t) for t in assign["track_id"].to_numpy()[m]], dtype=np.uint8).reshape(
        -1, 3)
    return img


def draw_barcode(seq: str, assigns: dict[str, pd.DataFrame], switches: dict[str, pd.DataFrame], length: int,
                 out: Path) -> Path:
    """The identity timeline of two (or more) trackers on one sequence, the first on top."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    first = next(iter(assigns.values()))
    order = first.groupby("gt_id")["frame"].min().sort_values(kind="stable").index.tolist()
    n = len(order)
    row_h = min(0.12, 6.0 / max(n, 1))
    height = 0.9 + len(assigns) * (0.5 + n * row_h)  # inches: suptitle and x axis, then per tracker its title + rows
    fig, axes = plt.subplots(len(assigns), 1, figsize=(10, height), squeeze=False)
    # margins in inches, set rather than found by tight_layout (which drew every text twice: 40% of a barcode's time)
    fig.subplots_adjust(left=0.75 / 10, right=1 - 0.15 / 10, top=1 - 0.6 / height, bottom=0.45 / height,
                        hspace=0.5 / max(n * row_h, 0.1))
    for k, (ax, (tracker, assign)) in enumerate(zip(axes[:, 0], assigns.items())):
        ax.imshow(barcode_image(assign, order, length), aspect="auto", interpolation="nearest",
                  extent=(0.5, length + 0.5, n - 0.5, -0.5))
        sw = switches[tracker]
        rows = sw["gt_id"].map({g: i for i, g in enumerate(order)})
        ax.scatter(sw["frame"], rows, marker="|", s=60, c="black", linewidths=1.5)
        ax.set_title(f"{'AB'[k] + ': ' if len(assigns) == 2 else ''}{tracker}: {len(sw)} ID switches", fontsize=9,
                     loc="left")
        ax.grid(False)
        ax.set_ylabel("gt identity", fontsize=8)
        if n <= 40:
            ax.set_yticks(range(n), [str(g) for g in order], fontsize=5)
        else:
            ax.set_yticks([])
        ax.tick_params(axis="x", labelsize=7)
    axes[-1, 0].set_xlabel("frame", fontsize=8)
    fig.suptitle(f"{seq}: identity timeline (colour = matched track id, grey = missed, | = ID switch)", fontsize=9)
    with warnings.catch_warnings():  # names in a script the font lacks are drawn as boxes, as in bench/present/plots
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        with atomic_path(out) as tmp:
            fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)
    return out


def sequence_rows(gt_root: Path, seq: str, results: dict[str, Path], benchmark: str
                  ) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """The sequence's gt rows (frame, id, x, y, w, h, vis; vis as `bench.evaluate.events.visibility` gives it, NaN
    without) and each tracker's result rows, as the strips draw them."""
    from bench.evaluate.events import visibility

    g = load_rows(gt_path(Path(gt_root), seq), "gt")
    vis = visibility(g, benchmark)
    gt = _frame(g).assign(vis=vis if vis is not None else np.nan)
    return gt, {t: _frame(load_rows(Path(p) / f"{seq}.txt", "results")) for t, p in results.items()}


def _frame(f: TextRows) -> pd.DataFrame:
    return pd.DataFrame({"frame": f.rows[:, 0].astype(np.int64), "id": f.rows[:, 1].astype(np.int64),
                         "x": f.rows[:, 2], "y": f.rows[:, 3], "w": f.rows[:, 4], "h": f.rows[:, 5]})
