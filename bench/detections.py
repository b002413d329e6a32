"""Detection sources: per sequence, per frame `(x1, y1, x2, y2, score)` arrays, cached on disk.

A source has a `name`, a `params()` dict (everything that changes its output) and `detect(seq)` returning
(N, 6) rows frame, x1, y1, x2, y2, score. `load_detections` serves it through the cache.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from bench.cache import ArrayCache
from bench.config import Config
from bench.mot_io import read_detections, split_by_frame
from bench.suites import Sequence

DET_COLUMNS = ["frame", "x1", "y1", "x2", "y2", "score"]


class DetectionSource(Protocol):
    name: str

    def params(self) -> dict[str, Any]: ...

    def detect(self, seq: Sequence) -> np.ndarray: ...


@dataclass(frozen=True)
class PublicDetections:
    """The sequence's own `det/det.txt` (MOTChallenge public detections)."""

    name: str = "public"

    def params(self) -> dict[str, Any]:
        return asdict(self)

    def detect(self, seq: Sequence) -> np.ndarray:
        return read_detections(seq.det_path)


def make_source(cfg: Config, device: str) -> DetectionSource:
    """The configured source (`run.detections`); YOLOX settings come from `[detections.yolox]`."""
    if cfg.run.detections == "yolox":
        from bench.yolox_source import yolox_source_from_config

        section = dict(cfg.detections.yolox)
        if section.get("checkpoint"):
            section["checkpoint"] = str(cfg.resolve(section["checkpoint"]))
        return yolox_source_from_config(section, device)
    return PublicDetections()


def load_detections(source: DetectionSource, seq: Sequence, cache: ArrayCache) -> tuple[list[np.ndarray], bool]:
    """Per-frame (n, 5) arrays for frames 1..seq length, and whether the cache served them."""
    key = {"seq": seq.fingerprint(), "source": source.name, "params": source.params()}
    df, hit = cache.get_or_compute(
        "detections", key, lambda: pd.DataFrame(source.detect(seq), columns=DET_COLUMNS), label=seq.name
    )
    return split_by_frame(df[DET_COLUMNS].to_numpy(dtype=np.float64), seq.info.length), hit
