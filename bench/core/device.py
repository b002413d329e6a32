"""The one place a configured device name becomes the device work runs on."""

from __future__ import annotations

from bench.core.errors import BenchError


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
