"""Detection sources: per sequence, per frame `(x1, y1, x2, y2, score)` arrays, cached on disk.

A source has a `name`, a `params()` dict (everything that changes its output) and `detect(seq)` returning (N, 6) rows
frame, x1, y1, x2, y2, score; a source that reads files outside the sequence folder also has `inputs(seq)`, their
digest. `load_detections` serves it through the cache, keyed by all of them and the sequence's content.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from bench.core.cache import ArrayCache
from bench.core.config import Config
from bench.core.errors import BenchError
from bench.core.fsutil import file_digest
from bench.data.mot_io import read_detections, split_by_frame
from bench.detect.scores import rescaled
from bench.data.suites import Sequence

DET_COLUMNS = ["frame", "x1", "y1", "x2", "y2", "score"]


class DetectionSource(Protocol):
    name: str

    def params(self) -> dict[str, Any]: ...

    def detect(self, seq: Sequence) -> np.ndarray: ...


@dataclass(frozen=True)
class PublicSource:
    """The sequence's own `det/det.txt` (MOTChallenge public detections), scores divided by `score_scale`."""

    name: str = "public"
    score_scale: float = 1.0

    def params(self) -> dict[str, Any]:
        params = asdict(self)
        if self.score_scale == 1.0:
            del params["score_scale"]  # the key detections had before the setting existed (cache entries stay)
        return params

    def path(self, seq: Sequence) -> Path:
        return seq.det_path

    def detect(self, seq: Sequence) -> np.ndarray:
        if not seq.det_path.is_file():  # DanceTrack, for one, ships no public detections
            raise BenchError(
                f"sequence {seq.name} has no public detections (det/det.txt)",
                seq.det_path,
                hint="use your own detector's saved outputs (run.detections = \"files\" with [detections.files] "
                "dir = folder of <SEQ>.txt; --set run.detections=files --set detections.files.dir=DIR) or YOLOX "
                "(run.detections = \"yolox\" with detections.yolox.checkpoint; --set run.detections=yolox)",
            )
        return rescaled(read_detections(seq.det_path), self.score_scale)


@dataclass(frozen=True)
class FileSource:
    """`<dir>/<SEQ>.txt` in MOTChallenge det format: detections saved by another pipeline (e.g. its YOLOX outputs).

    Frame numbers are those of the dataset's own sequence; for a half of a sequence (`suite.split = "half"`,
    `mot17-val`) the rows of that half are taken and renumbered from 1, as its gt and images are. Cached by the
    file's content, not its path.
    """

    dir: Path
    name: str = "files"
    score_scale: float = 1.0

    def params(self) -> dict[str, Any]:
        # the content is keyed per sequence by inputs()
        return {} if self.score_scale == 1.0 else {"score_scale": self.score_scale}

    def path(self, seq: Sequence) -> Path:
        p = self.dir / f"{seq.name}.txt"
        if not p.is_file():
            have = sorted(q.stem for q in self.dir.glob("*.txt")) if self.dir.is_dir() else []
            raise BenchError(
                f"no detection file for sequence {seq.name}",
                p,
                hint=f"detections.files.dir must hold <SEQ>.txt for every tracked sequence (it has {len(have)} .txt"
                + (f": {', '.join(have[:5])}{', ...' if len(have) > 5 else ''})" if have else ")"),
            )
        return p

    def inputs(self, seq: Sequence) -> str:
        return file_digest(self.path(seq))

    def detect(self, seq: Sequence) -> np.ndarray:
        path = self.path(seq)
        dets = read_detections(path)
        if len(dets) and dets[:, 0].max() > seq.full_length:
            row = int(np.argmax(dets[:, 0]))
            raise BenchError(
                f"frame {int(dets[row, 0])} is beyond the sequence's {seq.full_length} frames",
                path,
                hint=f"the file must hold detections of {seq.name} in its own frame numbers",
            )
        first, last = seq.frame_offset + 1, seq.frame_offset + seq.info.length
        dets = dets[(dets[:, 0] >= first) & (dets[:, 0] <= last)].copy()
        dets[:, 0] -= seq.frame_offset
        return rescaled(dets, self.score_scale)


def make_source(cfg: Config, device: str) -> DetectionSource:
    """The configured source (`run.detections`); settings come from `[detections.yolox]` / `[detections.files]`."""
    if cfg.run.detections == "files":
        folder = cfg.resolve(cfg.detections.files.dir)
        if not folder.is_dir():
            raise BenchError("detections.files.dir is not a folder", folder, hint="point it at a folder of <SEQ>.txt")
        return FileSource(folder, score_scale=cfg.detections.score_scale)
    if cfg.run.detections == "yolox":
        from bench.detect.yolox import yolox_source_from_config

        section = cfg.detections.yolox
        if section.checkpoint:
            section = dataclasses.replace(section, checkpoint=str(cfg.resolve(section.checkpoint)))
        return yolox_source_from_config(section, device)
    return PublicSource(score_scale=cfg.detections.score_scale)


def load_detections(source: DetectionSource, seq: Sequence, cache: ArrayCache) -> tuple[list[np.ndarray], bool]:
    """Per-frame (n, 5) arrays for frames 1..seq length, and whether the cache served them."""
    key = {"seq": seq.fingerprint(), "source": source.name, "params": source.params()}
    inputs = source.inputs(seq) if hasattr(source, "inputs") else ""
    if inputs:  # only sources that read outside the sequence add it: existing cache keys stay valid
        key["inputs"] = inputs
    df, hit = cache.get_or_compute(
        "detections", key, lambda: pd.DataFrame(source.detect(seq), columns=DET_COLUMNS), label=seq.name
    )
    return split_by_frame(df[DET_COLUMNS].to_numpy(dtype=np.float64), seq.info.length), hit
