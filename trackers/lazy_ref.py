"""Implementations named as "module:attribute" strings, imported only when used.

Registries hold these names instead of the objects, so declaring what exists (a tracker, a Re-ID model) costs no
import of torch or numba; the implementation is imported the first time something is built.
"""

from __future__ import annotations

import importlib
from typing import Any


def load_ref(ref: str) -> Any:
    """The object `ref` names, e.g. "trackers.bytetrack:ByteTrack" (ValueError for a malformed name)."""
    module, sep, attr = ref.partition(":")
    if not sep or not module or not attr:
        raise ValueError(f"expected 'module:attribute', got {ref!r}")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj
