"""The one place a configured device name becomes the device work runs on."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from bench.core.errors import BenchError

if TYPE_CHECKING:
    from bench.core.config import Config


def uses_device(cfg: Config, trackers: Iterable[str]) -> bool:
    """Does a run of `trackers` under `cfg` put work on the device: Re-ID training and embedding (an appearance
    tracker) or YOLOX detection? Motion trackers on detection files run on the CPU whatever the device."""
    from bench.core.trackers_registry import REGISTRY

    return cfg.run.detections == "yolox" or any(REGISTRY[t].needs_features for t in trackers)


def resolve_device(device: str) -> str:
    """`auto` → cuda when available, else cpu; `cuda` (or `cuda:N`) without CUDA is an error, never a silent CPU
    fallback. torch is imported here, not at module load, so commands that never reach a device skip it (and `cpu`
    needs no check)."""
    if device == "cpu":
        return device
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise BenchError(f"device {device!r} requested but torch sees no CUDA device", hint="use --device cpu or auto")
    return device


def arithmetic(device: str) -> dict[str, object]:
    """What decides a training's float rounding beside the seed, for the record: on the CPU torch's kernel level
    (AVX512, AVX2, ...) and its intra-op thread count (`benchmarks/determinism.py`: either changes the trained
    weights, so runs compare only where they match); on CUDA the GPU's name."""
    import torch

    if device.startswith("cuda"):
        return {"gpu": torch.cuda.get_device_name(torch.device(device))}
    return {"cpu_kernels": torch.backends.cpu.get_cpu_capability(), "threads": torch.get_num_threads()}
