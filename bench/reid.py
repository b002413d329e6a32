"""Re-ID models for a suite: train once per (suite, model config, training config, seed), store, reuse, embed.

A checkpoint is a `.pt` holding the model and training configs, their hash, the seed, the identity count and the
val retrieval metrics (mAP, rank-1). It lives under `<cache>/reid/<hash>.pt`, written atomically, so `bench run`
trains the model the first time a suite needs it and reuses it afterwards.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from torch.utils.data import Sampler

import trackers.reid
from bench.config import Config, ReIDModelSection
from bench.embeddings import Embedder
from bench.errors import BenchError
from bench.fsutil import atomic_path, file_digest, sha256_file, stable_hash
from bench.reid_data import CropSet, gt_crops
from bench.suites import Suite
from trackers.reid.finetrack_loss import make_loss
from trackers.reid.metrics import retrieval_metrics
from trackers.reid.models import ModelConfig
from trackers.reid.samplers import PKSampler, RandomBatchSampler, SGSSampler
from trackers.reid.train import TrainConfig, train

console = Console(stderr=True)
REID_CODE = Path(trackers.reid.__file__).parent


def code_fingerprint() -> str:
    """Hash of the Re-ID model, loss, sampler and training code: a changed model never reuses a stale checkpoint."""
    return file_digest(*sorted(REID_CODE.glob("*.py")))


def reid_key(section: ReIDModelSection, suite: Suite, seed: int) -> dict[str, Any]:
    """Everything that determines a trained model: the train sequences' content, both configs, the code, the seed."""
    return {
        "suite": stable_hash([s.fingerprint() for s in suite.split("train")]),
        "code": code_fingerprint(),
        "model": section.model.to_dict(),
        "train": section.train.to_dict(),
        "seed": seed,
    }


def checkpoint_path(cfg: Config, section: ReIDModelSection, suite: Suite, seed: int) -> Path:
    key = stable_hash(reid_key(section, suite, seed))
    return cfg.cache_dir / "reid" / f"{section.model.name}-{key}-s{seed}.pt"


def section_for_model(cfg: Config, model: str) -> str:
    """The reid.<tracker> section whose model is `model` (`bench train --model global` → reid.deepsort)."""
    for f in dataclasses.fields(cfg.reid):
        value = getattr(cfg.reid, f.name)
        if isinstance(value, ReIDModelSection) and value.model.name == model:
            return f.name
    raise BenchError(f"no reid.<tracker> section uses model {model!r}", hint="models: global, finetrack")


def make_sampler(data: CropSet, tc: TrainConfig, seed: int) -> Sampler[list[int]]:
    """The batch sampler named by `train.sampler`; every epoch shows about every crop once."""
    batch = tc.p * tc.k
    if tc.sampler == "pk":
        return PKSampler(data.labels, tc.p, tc.k, seed=seed, batches_per_epoch=max(1, math.ceil(len(data) / batch)))
    if tc.sampler == "sgs":
        return SGSSampler(data.seqs, data.frames, data.labels, batch, group_frames=tc.group_frames, seed=seed)
    if tc.sampler == "random":
        return RandomBatchSampler(len(data), batch, seed=seed)
    raise BenchError(f"unknown sampler {tc.sampler!r}", hint="use pk, sgs or random")


def training_loss(mc: ModelConfig, tc: TrainConfig) -> torch.nn.Module:
    """The model's loss with the training section's weights (FineTrack: α = part_weight_per_k·K, β, γ)."""
    if mc.name != "finetrack":
        return make_loss(mc, tc.label_smoothing, tc.triplet_margin)
    k = int(mc.extra.get("k", 6))
    return make_loss(
        mc,
        tc.label_smoothing,
        tc.triplet_margin,
        alpha=tc.part_weight_per_k * k,
        beta=tc.global_weight,
        gamma=tc.diversity_weight,
        diversity=tc.diversity,
    )


def evaluate_retrieval(
    model: torch.nn.Module, input_size: tuple[int, int], val: CropSet, cfg: Config, device: str
) -> dict[str, float]:
    """mAP / rank-1 on the val split's gt crops (queries: every `eval_query_stride`-th frame)."""
    if len(val) == 0:
        return {"mAP": float("nan"), "rank1": float("nan"), "queries": 0}
    embedder = Embedder(model, "", input_size, device, cfg.reid.embed_batch_size)
    feats = embedder.embed(val.crops)
    queries = np.flatnonzero((val.frames - 1) % cfg.reid.eval_query_stride == 0)
    return retrieval_metrics(feats, val.ids, val.seqs, val.frames, queries, cfg.reid.eval_min_frame_gap)


@dataclass
class TrainOutcome:
    path: Path
    seconds: float
    metrics: dict[str, float]
    history: list[dict[str, float]]


def train_checkpoint(cfg: Config, tracker: str, suite: Suite, seed: int, device: str) -> TrainOutcome:
    """Train `reid.<tracker>`'s model on the suite's train split, evaluate on its val split, save atomically."""
    section = cfg.reid.section(tracker)
    mc, tc = section.model, section.train
    size = tuple(mc.input_size)
    train_seqs = suite.split("train")
    if not train_seqs:
        raise BenchError(
            f"suite {suite.name!r} has no train sequences to train a Re-ID model on",
            hint=f"pass a checkpoint with --reid PATH (or reid.{tracker}.checkpoint in bench.toml)",
        )
    t0 = time.perf_counter()
    data = gt_crops(train_seqs, size, tc.min_visibility, tc.frame_stride)
    if data.num_classes < tc.p:
        raise BenchError(
            f"only {data.num_classes} identities in the train split, fewer than reid.{tracker}.train.p = {tc.p}",
            hint=f"lower reid.{tracker}.train.p",
        )
    torch.manual_seed(seed)
    model = mc.build(data.num_classes)
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]:.3f}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )
    with progress:
        task = progress.add_task(
            f"training {mc.name} Re-ID ({len(data)} crops, {data.num_classes} ids)", total=None, loss=float("nan")
        )

        def on_step(it: int, total: int, losses: dict[str, float]) -> None:
            progress.update(task, completed=it, total=total, loss=losses["loss"])

        loss_fn = training_loss(mc, tc)
        history = train(
            model,
            data.crops,
            data.labels,
            tc,
            seed=seed,
            device=device,
            sampler=make_sampler(data, tc, seed),
            loss_fn=loss_fn,
            on_step=on_step,
        )
    seconds = time.perf_counter() - t0
    val = gt_crops(suite.split("val"), size, tc.min_visibility, 1)
    metrics = evaluate_retrieval(model, size, val, cfg, device)
    path = checkpoint_path(cfg, section, suite, seed)
    payload = {
        "model_config": mc.to_dict(),
        "train_config": tc.to_dict(),
        "config_hash": stable_hash(reid_key(section, suite, seed)),
        "key": reid_key(section, suite, seed),
        "seed": seed,
        "num_classes": data.num_classes,
        "train_crops": len(data),
        "train_seconds": seconds,
        "history": history,
        "metrics": metrics,
        "state_dict": {k: v.cpu() for k, v in model.state_dict().items()},
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    console.print(
        f"Re-ID {mc.name}: trained in {seconds:.0f} s on {len(data)} crops / {data.num_classes} ids; "
        f"val mAP {metrics['mAP']:.3f} rank-1 {metrics['rank1']:.3f} ({metrics['queries']} queries) → {path}"
    )
    return TrainOutcome(path, seconds, metrics, history)


def load_checkpoint(path: Path, device: str, batch_size: int = 128) -> tuple[Embedder, dict[str, Any]]:
    """An inference-only embedder from a checkpoint, plus its metadata (without the weights)."""
    if not path.is_file():
        raise BenchError("Re-ID checkpoint not found", path, hint="train one with `bench train` or drop --reid")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
        mc = ModelConfig.from_dict(payload["model_config"])
        model = mc.build(0)
        state = {k: v for k, v in payload["state_dict"].items() if not k.endswith("classifier.weight")}
        model.load_state_dict(state)
    except (KeyError, RuntimeError, EOFError, OSError) as e:
        raise BenchError(f"not a bench Re-ID checkpoint ({e.__class__.__name__}: {e})", path) from None
    meta = {k: v for k, v in payload.items() if k != "state_dict"}
    meta["path"] = str(path)
    meta["sha256"] = sha256_file(path)
    embedder = Embedder(model, meta["sha256"], tuple(mc.input_size), device, batch_size)
    return embedder, meta


def ensure_checkpoint(cfg: Config, tracker: str, suite: Suite, seed: int, device: str) -> Path:
    """`reid.<tracker>.checkpoint` if set, else the cached one for this suite and config, else train it now."""
    section = cfg.reid.section(tracker)
    if section.checkpoint:
        return cfg.resolve(section.checkpoint)
    path = checkpoint_path(cfg, section, suite, seed)
    if path.is_file():
        return path
    return train_checkpoint(cfg, tracker, suite, seed, device).path
