"""Walk the typed config tree: the one list of user-facing keys that config tests iterate over."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterator
from typing import Any


def config_leaves(obj: Any, prefix: str = "") -> Iterator[tuple[str, dataclasses.Field, Any, Any]]:
    """(dotted key, field, current value, type hint) for every leaf field, skipping fields marked internal."""
    hints = typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        if f.metadata.get("internal"):
            continue
        value, key = getattr(obj, f.name), f"{prefix}{f.name}"
        if dataclasses.is_dataclass(value):
            yield from config_leaves(value, key + ".")
        else:
            yield key, f, value, hints[f.name]
