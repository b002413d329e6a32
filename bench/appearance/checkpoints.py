"""Re-ID models for a suite: train once per (suite, model config, training config, seed), store, reuse, embed.

A checkpoint is a `.pt` holding the model and training configs (plain dicts, so it loads with `weights_only=True`),
their hash, the seed, the identity count and the val retrieval metrics (mAP, rank-1). It lives under
`<cache>/reid/<hash>.pt`, written atomically, with the file's sha256 beside it (`.pt.sha256`): `bench run` trains
the model the first time a suite needs it, reuses it afterwards, and retrains an entry whose digest no longer
matches. Two runs that need the same checkpoint at once train it once: the second waits on the entry's lock.
"""

from __future__ import annotations

import dataclasses
import io
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Sampler

from bench.appearance.code_fingerprint import code_fingerprint
from bench.core.config import Config, ReIDModelSection
from bench.core.device import arithmetic
from bench.appearance.embeddings import Embedder
from bench.core.errors import BenchError
from bench.core.progress import Reporter, SilentReporter
from bench.core.fsutil import (
    atomic_path,
    atomic_write_text,
    file_lock,
    lock_path,
    remove_temp_of,
    sha256_file,
    stable_hash,
)
from bench.appearance.identity_crops import CropSet, reused_gt_crops
from bench.data.suites import Suite
from bench.appearance.torch_files import load_weights_only
from trackers.reid.metrics import retrieval_metrics
from trackers.reid.configs import ModelConfig, TrainConfig
from trackers.reid.early_stop import PlateauStop, epoch_end_hook, holdout_split
from trackers.reid.registry import MODEL_REGISTRY
from trackers.reid.resnet import ResNet, load_torchvision_weights
from trackers.reid.samplers import PKSampler, RandomBatchSampler, SGSSampler
from trackers.reid.train import train, training_precision

def pretrained_path(cfg: Config, section: ReIDModelSection) -> Path | None:
    """The resolved `model.pretrained` file (None when unset); a missing file is an error."""
    if not section.model.pretrained:
        return None
    path = cfg.resolve(section.model.pretrained)
    if not path.is_file():
        raise BenchError(
            "pretrained backbone weights not found", path,
            hint="set reid.<tracker>.model.pretrained to a torchvision ResNet state dict (see README)",
        )
    return path


def reid_key(cfg: Config, section: ReIDModelSection, suite: Suite, seed: int) -> dict[str, Any]:
    """Everything that determines a trained model: the train sequences' content, both configs (the pretrained
    weights by content, not path), the code, the seed."""
    model = section.model.to_dict()
    pretrained = pretrained_path(cfg, section)
    if pretrained is not None:
        model["pretrained"] = sha256_file(pretrained)
    return {
        "suite": stable_hash([s.fingerprint() for s in suite.split("train")]),
        "code": code_fingerprint(),
        "model": model,
        "train": section.train.to_dict(),
        "seed": seed,
    }


def checkpoint_path(cfg: Config, section: ReIDModelSection, suite: Suite, seed: int) -> Path:
    key = stable_hash(reid_key(cfg, section, suite, seed))
    return cfg.cache_dir / "reid" / f"{section.model.name}-{key}-s{seed}.pt"


def digest_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def section_for_model(cfg: Config, model: str) -> str:
    """The reid.<tracker> section whose model is `model` (`bench train --model global` → reid.deepsort)."""
    for f in dataclasses.fields(cfg.reid):
        value = getattr(cfg.reid, f.name)
        if isinstance(value, ReIDModelSection) and value.model.name == model:
            return f.name
    raise BenchError(f"no reid.<tracker> section uses model {model!r}", hint=f"models: {', '.join(MODEL_REGISTRY)}")


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


def load_pretrained(model: torch.nn.Module, path: Path, label: str, reporter: Reporter | None = None) -> None:
    """Load an ImageNet ResNet state dict (torchvision/timm key layout) into `model.backbone`; heads stay new."""
    backbone = getattr(model, "backbone", None)
    if not isinstance(backbone, ResNet):
        raise BenchError(f"{label}: this model has no ResNet backbone to load pretrained weights into")
    state = load_weights_only(path, "pretrained weights")
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise BenchError("not a state dict of tensors (expected torch.save(model.state_dict(), path))", path)
    try:
        report = load_torchvision_weights(backbone, state)
    except ValueError as e:
        raise BenchError(f"pretrained weights do not fit {label} ({e})", path) from None
    random = f"; stayed random: {', '.join(report.missing)}" if report.missing else ""
    (reporter or SilentReporter()).message(
        f"{label}: loaded {len(report.loaded)}/{report.total} backbone tensors from {path}{random}"
    )


def retrieval_queries(crops: CropSet, cfg: Config) -> np.ndarray:
    """The query crops of a retrieval test: those of every `eval_query_stride`-th frame."""
    return np.flatnonzero((crops.frames - 1) % cfg.reid.eval_query_stride == 0)


def evaluate_retrieval(
    model: torch.nn.Module, input_size: tuple[int, int], val: CropSet, cfg: Config, device: str, precision: str
) -> dict[str, float]:
    """mAP / rank-1 on the val split's gt crops (queries: every `eval_query_stride`-th frame), embedded in
    `precision` ("fp32" or "bf16", as runs embed with the model)."""
    if len(val) == 0:
        return {"mAP": float("nan"), "rank1": float("nan"), "queries": 0}
    embedder = Embedder(model, "", input_size, device, cfg.reid.embed_batch_size, precision == "bf16")
    feats = embedder.embed(val.crops)
    queries = retrieval_queries(val, cfg)
    return retrieval_metrics(feats, val.ids, val.seqs, val.frames, queries, cfg.reid.eval_min_frame_gap)


def crop_subset(data: CropSet, idx: np.ndarray) -> CropSet:
    """The crops at `idx` as a new set (`data` may be shared), labels renumbered 0..C-1: the classifier's classes
    are the identities trained on, never held-out ones."""
    _, labels = np.unique(data.labels[idx], return_inverse=True)
    return CropSet(
        crops=data.crops[torch.as_tensor(idx, dtype=torch.long)],
        ids=data.ids[idx],
        labels=np.asarray(labels, dtype=np.int64).reshape(-1),
        seqs=data.seqs[idx],
        frames=data.frames[idx],
        visibility=data.visibility[idx],
    )


def stopping_split(data: CropSet, cfg: Config, tracker: str, seed: int) -> tuple[CropSet, CropSet]:
    """`train.early_stop`: the train crops to train on and those of the held-out identities whose retrieval mAP
    decides when to stop (`trackers.reid.early_stop`); a split that cannot work is a config error."""
    tc = cfg.reid.section(tracker).train
    hint = f"raise reid.{tracker}.train.stop_holdout (or set reid.{tracker}.train.early_stop = false)"
    try:
        fit_idx, held_idx = holdout_split(data.labels, tc.stop_holdout, seed)
    except ValueError as e:
        raise BenchError(f"reid.{tracker}.train.stop_holdout = {tc.stop_holdout}: {e}", hint=hint) from None
    held = crop_subset(data, held_idx)
    # the query count does not depend on the features: it is the queries with a positive outside the frame gap
    flat = np.ones((len(held), 1), dtype=np.float32)
    if retrieval_metrics(flat, held.ids, held.seqs, held.frames, retrieval_queries(held, cfg),
                         cfg.reid.eval_min_frame_gap)["queries"] == 0:
        raise BenchError(
            f"none of the {held.num_classes} held-out identities of reid.{tracker}.train.stop_holdout has a query "
            f"with a positive {cfg.reid.eval_min_frame_gap}+ frames away", hint=hint,
        )
    return crop_subset(data, fit_idx), held


@dataclass
class TrainOutcome:
    path: Path
    seconds: float
    metrics: dict[str, float]
    history: list[dict[str, float]]  # one entry per epoch trained (fewer than train.epochs when stopped early)


def train_checkpoint(
    cfg: Config, tracker: str, suite: Suite, seed: int, device: str, reporter: Reporter | None = None
) -> TrainOutcome:
    """Train `reid.<tracker>`'s model on the suite's train split, evaluate on its val split, save atomically.

    With `train.early_stop` some train identities are held out and training stops when their retrieval mAP stops
    improving, the best evaluated weights kept; the payload records the epochs used either way."""
    reporter = reporter or SilentReporter()
    section = cfg.reid.section(tracker)
    mc, tc = section.model, section.train
    size = tuple(mc.input_size)
    train_seqs = suite.split("train")
    if not train_seqs:
        raise BenchError(
            f"suite {suite.name!r} has no train sequences to train a Re-ID model on",
            hint=f"give the suite a train/ folder, or split it with --set suite.split=half, or pass a checkpoint "
            f"with --reid PATH (reid.{tracker}.checkpoint in bench.toml)",
        )
    t0 = time.perf_counter()
    data = reused_gt_crops(train_seqs, size, tc.min_visibility, tc.frame_stride)
    held: CropSet | None = None
    if tc.early_stop:
        data, held = stopping_split(data, cfg, tracker, seed)
    if data.num_classes < tc.p:
        held_out = f" once {held.num_classes} are held out for early stopping" if held is not None else ""
        raise BenchError(
            f"only {data.num_classes} identities in the train split{held_out}, fewer than "
            f"reid.{tracker}.train.p = {tc.p}",
            hint=f"lower reid.{tracker}.train.p" + (" or stop_holdout" if held is not None else ""),
        )
    torch.manual_seed(seed)
    model = mc.build(data.num_classes)
    pretrained = pretrained_path(cfg, section)
    if pretrained is not None:
        load_pretrained(model, pretrained, f"reid.{tracker}.model.pretrained", reporter)
    sampler = make_sampler(data, tc, seed)
    precision = training_precision(tc.precision, device)  # also the embedding's, for the val and held-out mAP
    stop, hook = None, None
    if held is not None:
        stop = PlateauStop(tc.stop_min_epochs, tc.stop_patience, tc.stop_min_delta)
        held_set = held
        hook = epoch_end_hook(stop, lambda m: evaluate_retrieval(m, size, held_set, cfg, device, precision)["mAP"],
                              tc.stop_every, tc.epochs)
    description = (f"training {mc.name} Re-ID ({len(data)} crops, {data.num_classes} ids, {tc.epochs} epochs, "
                   f"{precision})")
    with reporter.progress(description, total=tc.epochs * len(sampler)) as task:
        history = train(
            model,
            data.crops,
            data.labels,
            tc,
            seed=seed,
            device=device,
            sampler=sampler,
            loss_fn=mc.make_loss(tc),
            on_step=lambda it, total, losses: task.advance(),
            on_epoch_end=hook,
        )
    if stop is not None:
        stop.restore(model)
    seconds = time.perf_counter() - t0
    val = reused_gt_crops(suite.split("val"), size, tc.min_visibility, 1)
    metrics = evaluate_retrieval(model, size, val, cfg, device, precision)
    path = checkpoint_path(cfg, section, suite, seed)
    key = reid_key(cfg, section, suite, seed)
    payload = {
        "model_config": mc.to_dict(),
        "train_config": tc.to_dict(),
        "config_hash": stable_hash(key),
        "key": key,
        "seed": seed,
        "num_classes": data.num_classes,
        "train_crops": len(data),
        "train_seconds": seconds,
        "precision": precision,  # train.precision as resolved on this device (auto: bf16 where it is native)
        "arithmetic": arithmetic(device),  # CPU kernels and threads (or the GPU): the weights depend on them too
        "history": history,
        "epochs_used": len(history),
        "stopped_early": len(history) < tc.epochs,
        "best_epoch": stop.best_epoch if stop is not None else len(history),  # the epochs behind the weights kept
        "held_out": None if held is None or stop is None else {  # train.early_stop: what decided the stop
            "ids": held.num_classes,
            "crops": len(held),
            "evaluations": [[epoch, mAP] for epoch, mAP in stop.evaluations],  # (epochs trained, held-out mAP)
        },
        "metrics": metrics,
        "state_dict": {k: v.cpu() for k, v in model.state_dict().items()},
    }
    buffer = io.BytesIO()  # serialised in memory, written by Python: a full disk is then an OSError (ENOSPC), not
    torch.save(payload, buffer)  # one of torch's C++ stream errors that name no cause
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getbuffer())
    atomic_write_text(digest_path(path), sha256_file(path) + "\n")  # written last: no digest, no valid entry
    stopped = (f" (early stop: {len(history)} of {tc.epochs} epochs, weights of epoch {stop.best_epoch})"
               if stop is not None else "")
    reporter.message(
        f"Re-ID {mc.name}: trained in {seconds:.0f} s ({precision}){stopped} on {len(data)} crops / {data.num_classes} ids; "
        f"val mAP {metrics['mAP']:.3f} rank-1 {metrics['rank1']:.3f} ({metrics['queries']} queries) → {path}"
    )
    return TrainOutcome(path, seconds, metrics, history)


def load_checkpoint(path: Path, device: str, batch_size: int = 128, precision: str = "auto"
                    ) -> tuple[Embedder, dict[str, Any]]:
    """An inference-only embedder from a checkpoint, plus its metadata (without the weights). `precision` is the
    model's `train.precision` setting (auto: bf16 where the device computes it), the embedding's arithmetic."""
    if not path.is_file():
        raise BenchError("Re-ID checkpoint not found", path, hint="train one with `bench train` or drop --reid")
    payload = load_weights_only(path, "the Re-ID checkpoint")
    try:
        mc = ModelConfig.from_dict(payload["model_config"])
        model = mc.build(0)
        state = {k: v for k, v in payload["state_dict"].items() if not k.endswith("classifier.weight")}
        model.load_state_dict(state)
    except (KeyError, RuntimeError, TypeError, ValueError, AttributeError) as e:
        raise BenchError(f"not a bench Re-ID checkpoint ({e.__class__.__name__}: {e})", path) from None
    meta = {k: v for k, v in payload.items() if k != "state_dict"}
    meta["path"] = str(path)
    meta["sha256"] = sha256_file(path)
    bf16 = training_precision(precision, device) == "bf16"
    embedder = Embedder(model, meta["sha256"], tuple(mc.input_size), device, batch_size, bf16)
    return embedder, meta


TRAINING_ONLY = frozenset({"pretrained", "part_weight_per_k", "global_weight", "diversity_weight", "diversity"})


def check_fits(path: Path, section: ReIDModelSection, tracker: str) -> None:
    """A given checkpoint must hold the model `reid.<tracker>.model` describes (kind, K, width, ...): a `global`
    model handed to FineTrack would otherwise embed happily and silently change what is measured. Keys that only
    shape training (loss weights, the backbone's initial weights) may differ."""
    if not path.is_file():
        raise BenchError("Re-ID checkpoint not found", path, hint="train one with `bench train` or drop --reid")
    payload = load_weights_only(path, "the Re-ID checkpoint")
    held = payload.get("model_config") if isinstance(payload, dict) else None
    if not isinstance(held, dict):
        raise BenchError("not a bench Re-ID checkpoint (it holds no model_config)", path)
    need = section.model.to_dict()
    diff = [k for k in dict.fromkeys([*need, *held]) if k not in TRAINING_ONLY and held.get(k) != need.get(k)]
    if diff:
        holds = ", ".join(f"{k}={held.get(k)}" for k in diff)
        needs = ", ".join(f"{k}={need.get(k)}" for k in diff)
        raise BenchError(
            f"the checkpoint holds a {held.get('name')} model ({holds}) but reid.{tracker} needs {needs}", path,
            hint=f"pass a checkpoint trained for {tracker}, or set reid.{tracker}.model to match it",
        )


def cached_checkpoint_ok(path: Path, reporter: Reporter | None = None) -> bool:
    """True when the cache entry's file matches the digest recorded when it was written; otherwise one warning
    line, and the entry (file and digest) is deleted so it gets retrained, never used."""
    if not path.is_file() and not digest_path(path).is_file():
        return False
    try:
        ok = digest_path(path).read_text().strip() == sha256_file(path)
    except OSError:
        ok = False
    if not ok:
        (reporter or SilentReporter()).message(
            f"warning: cached Re-ID checkpoint {path} is damaged or incomplete; retraining it"
        )
        path.unlink(missing_ok=True)
        digest_path(path).unlink(missing_ok=True)
    return ok


def ensure_checkpoint(
    cfg: Config, tracker: str, suite: Suite, seed: int, device: str, reporter: Reporter | None = None
) -> Path:
    """`reid.<tracker>.checkpoint` if set, else the cached one for this suite and config, else train it now."""
    section = cfg.reid.section(tracker)
    if section.checkpoint:
        path = cfg.resolve(section.checkpoint)
        check_fits(path, section, tracker)
        return path
    path = checkpoint_path(cfg, section, suite, seed)
    with file_lock(lock_path(path)):  # a concurrent run with the same model waits for this training, then reuses it
        if cached_checkpoint_ok(path, reporter):
            return path
        remove_temp_of(path)  # a killed training's half-written file
        remove_temp_of(digest_path(path))
        return train_checkpoint(cfg, tracker, suite, seed, device, reporter).path
