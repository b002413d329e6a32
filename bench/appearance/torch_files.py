"""Reading user-supplied torch files without running code: every checkpoint bench reads goes through here."""

from __future__ import annotations

import pickle
import re
import warnings
from pathlib import Path
from typing import Any

import torch

from bench.core.errors import BenchError


def load_weights_only(path: Path, what: str) -> Any:
    """`torch.load(weights_only=True)`: tensors and plain containers only, never code. A file holding anything else
    (a pickle that would run code, random bytes) and any damaged file is one BenchError line naming it."""
    try:
        with warnings.catch_warnings():  # e.g. torch's note on an unusual pickle protocol: the error below says it
            warnings.simplefilter("ignore", UserWarning)
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        found = re.search(r"WeightsUnpickler error:\s*([^\n]+)", str(e))  # torch's one useful line
        detail = f" ({found.group(1).strip()[:200]})" if found else ""
        raise BenchError(
            f"refusing to load {what}: not a file of tensors and plain values{detail}", path,
            hint="checkpoints load with torch.load(weights_only=True), so pickled code never runs",
        ) from None
    except Exception as e:  # torch raises many types for a damaged file (RuntimeError, EOFError, BadZipFile, ...)
        raise BenchError(f"cannot read {what} ({type(e).__name__}: {str(e).strip()[:200]})", path) from None
