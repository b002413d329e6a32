"""Re-ID embeddings of detections, computed in batches on CPU or CUDA and cached like detections.

The cache key holds the sequence's content, the detection source and its parameters, the checkpoint's hash and
the input size, so a retrained model or another detector never serves stale embeddings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from bench.core.cache import ArrayCache
from bench.appearance.code_fingerprint import inference_fingerprint
from bench.appearance.crops import crop_frames
from bench.data.suites import Sequence
from trackers.reid.inference import fuse_for_inference
from trackers.reid.preprocess import normalise
from trackers.reid.train import computes_bf16


@dataclass
class Embedder:
    """An eval-mode Re-ID model plus what identifies it (checkpoint hash) and how to feed it.

    By default it embeds with `fuse_for_inference(model)` (BN folded, NHWC; 1.2-1.5x the crops/s of the eval-mode
    model for FineTrack on the CPU in benchmarks/reid_throughput.py, embeddings within ~1e-7); the given model itself
    is left untouched.
    """

    model: nn.Module
    checkpoint_hash: str
    input_size: tuple[int, int]
    device: str = "cpu"
    batch_size: int = 128
    # bf16 autocast + channels_last; None: where the device computes bf16 itself (CUDA, a CPU with AVX512-BF16 or
    # AMX: 1.35-1.4x the fp32 crops/s on a 2-core Zen 4), fp32 elsewhere. bench passes the model's train.precision
    mixed_precision: bool | None = None
    fused: bool = True  # embed with fuse_for_inference(model); False: the eval-mode model as given

    def __post_init__(self) -> None:
        if self.mixed_precision is None:
            self.mixed_precision = computes_bf16(self.device)
        self.model = (fuse_for_inference(self.model) if self.fused else self.model.eval()).to(self.device)
        if self.mixed_precision:
            self.model = self.model.to(memory_format=torch.channels_last)

    @property
    def precision(self) -> str:
        return "bf16" if self.mixed_precision else "fp32"

    def key(self) -> dict[str, Any]:
        key: dict[str, Any] = {"checkpoint": self.checkpoint_hash, "input_size": list(self.input_size)}
        if self.mixed_precision:  # bf16 embeddings never stand in for fp32 ones
            key["precision"] = "bf16"
        if self.fused:  # nor fused ones (rounded differently, ~1e-7) for those of the model as given
            key["inference"] = inference_fingerprint()
        return key

    def embed(self, crops: torch.Tensor) -> np.ndarray:
        """uint8 (n, 3, h, w) crops → (n, D) float32 L2-normalised embeddings."""
        dev = torch.device(self.device)
        if dev.type == "cuda" and len(crops):
            crops = crops.pin_memory()  # asynchronous uploads per batch
        outs = []
        with torch.inference_mode(), torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bool(self.mixed_precision)):
            for i in range(0, len(crops), self.batch_size):
                batch = crops[i : i + self.batch_size].to(dev, non_blocking=True)
                if self.mixed_precision or self.fused:  # the model runs NHWC: the layout changed while the crops
                    batch = batch.contiguous(memory_format=torch.channels_last)  # are uint8 (a quarter of the
                batch = normalise(batch)  # bytes; 5 ms a batch of 128 on 2 cores); normalising keeps it, same values
                out = self.model(batch).float()  # stays on the device: one copy back at the end
                # a bf16 output is unit length only to bf16's ~3 digits (norms 0.997-1.0): made unit again in fp32
                outs.append(torch.nn.functional.normalize(out, dim=1) if self.mixed_precision else out)
        if not outs:
            return np.zeros((0, getattr(self.model, "embedding_dim", 0)), dtype=np.float32)
        return torch.cat(outs).cpu().numpy().astype(np.float32)


def sequence_crops(seq: Sequence, frames: list[np.ndarray], input_size: tuple[int, int]) -> torch.Tensor:
    """The crops of all boxes of all frames, in frame order (rows of `np.concatenate(frames)`)."""
    jobs = [(seq.image_path(f), dets[:, :4]) for f, dets in enumerate(frames, start=1) if len(dets)]
    crops = crop_frames(jobs, input_size, (seq.info.width, seq.info.height))
    return torch.cat(crops) if crops else torch.zeros((0, 3, *input_size), dtype=torch.uint8)


class SharedCrops:
    """One sequence's detection crops, cut once per input size for every model that embeds them (a run's two
    models at the same size: half the decoding and resizing, 5-6 s of a synth run), and only if one needs them."""

    def __init__(self, seq: Sequence, frames: list[np.ndarray]) -> None:
        self.seq, self.frames = seq, frames
        self._by_size: dict[tuple[int, int], torch.Tensor] = {}

    def __call__(self, input_size: tuple[int, int]) -> torch.Tensor:
        size = (int(input_size[0]), int(input_size[1]))
        if size not in self._by_size:
            self._by_size[size] = sequence_crops(self.seq, self.frames, size)
        return self._by_size[size]


def load_embeddings(
    embedder: Embedder, seq: Sequence, frames: list[np.ndarray], det_key: dict[str, Any], cache: ArrayCache,
    crops: SharedCrops | None = None,
) -> tuple[list[np.ndarray], bool]:
    """Per-frame (n, D) embeddings aligned with `frames`, and whether the cache served them; `crops`, when given,
    are `frames`' crops shared with the other models of the run."""
    key = {"seq": seq.fingerprint(), "detections": det_key, "model": embedder.key()}
    crops = crops if crops is not None else SharedCrops(seq, frames)

    def compute() -> pd.DataFrame:
        emb = embedder.embed(crops(embedder.input_size))
        df = pd.DataFrame(emb, columns=[f"e{i}" for i in range(emb.shape[1])])
        df.insert(0, "frame", np.repeat(np.arange(1, len(frames) + 1), [len(d) for d in frames]))
        return df

    df, hit = cache.get_or_compute("embeddings", key, compute, label=seq.name)
    emb = df.drop(columns="frame").to_numpy(dtype=np.float32)
    counts = [len(d) for d in frames]
    if len(emb) != sum(counts):  # a corrupted or foreign entry: never hand misaligned features to a tracker
        raise RuntimeError(f"embedding cache entry for {seq.name} has {len(emb)} rows, expected {sum(counts)}")
    return np.split(emb, np.cumsum(counts)[:-1]), hit
