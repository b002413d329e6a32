"""Typed tables: build a dataclass from parsed TOML (or JSON) with every key, type, range and choice checked.

The engine knows nothing of bench's schema (`bench.core.config`) or of any record written with it
(`bench.core.record`): it reads the dataclasses' type hints and each field's metadata. Unknown keys, values of the
wrong type, NaN/inf and values outside a field's declared range or choices are one `BenchError` naming the key
(e.g. `trackers.bytetrack.track_tresh`) and the source, so a typo never silently falls back to a default.

Field metadata: `range` (closed `[ ]` or open `( )` ends, `inf` for no upper bound; applied to every item of a list),
`choices` (a tuple of allowed values) and `internal` (not settable from a table). A `hook(obj, data, key, source)`
given to `build` may replace the object a table is applied to before its keys are (bench.core.config uses it so a
Re-ID model's keys follow its `name`).
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Callable
from typing import Any

from bench.core.errors import BenchError

Hook = Callable[[Any, dict[str, Any], str, str], Any]  # (current object, table, key, source) -> object to build on


def in_range(value: float, spec: str) -> bool:
    """Is `value` inside the interval `spec`, e.g. "[0, 1]", "(0, inf)", "[0, 1)"?"""
    lo, hi = (float(x) for x in spec[1:-1].split(","))
    return (value > lo if spec[0] == "(" else value >= lo) and (value < hi if spec[-1] == ")" else value <= hi)


def check_type(value: Any, tp: Any, key: str, source: str, hook: Hook | None = None) -> Any:
    """Return `value` converted to `tp` where that is lossless (int → float), else raise naming `key`."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            try:
                return check_type(value, arg, key, source, hook)
            except BenchError:
                continue
        raise BenchError(f"{key}: expected {tp}, got {value!r}", source)
    if tp is type(None):
        if value is None:
            return None
    elif origin in (list, tuple):
        if isinstance(value, list):
            (arg, *_) = typing.get_args(tp) or (Any,)
            items = [check_type(v, arg, f"{key}[{i}]", source, hook) for i, v in enumerate(value)]
            return items if origin is list else tuple(items)
    elif tp is Any:
        return value
    elif origin is dict:
        if isinstance(value, dict):
            _, arg = typing.get_args(tp) or (str, Any)
            return {k: check_type(v, arg, f"{key}.{k}", source, hook) for k, v in value.items()}
    elif tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise BenchError(f"{key} = {value!r}: expected a finite number", source)
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    elif dataclasses.is_dataclass(tp):
        if isinstance(value, dict):
            return build(tp, value, key, source, hook=hook)
    else:
        raise TypeError(f"unsupported type {tp} for {key}")
    name = getattr(tp, "__name__", str(tp))
    raise BenchError(f"{key}: expected {name}, got {value!r}", source)


def check_field(f: dataclasses.Field, value: Any, key: str, source: str) -> None:
    """The one range/choices checker: the field's metadata `range` and `choices` against the value being set."""
    spec, choices = f.metadata.get("range"), f.metadata.get("choices")
    for v in value if isinstance(value, (list, tuple)) else [value]:
        if spec is not None and v is not None and not in_range(v, spec):
            raise BenchError(f"{key} = {v!r} is out of range", source, hint=f"allowed: {spec}")
        if choices is not None and v not in choices:
            hint = f"use one of {', '.join(map(str, choices))}"
            raise BenchError(f"{key} = {v!r} is not a valid choice", source, hint=hint)


def merge(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """`new` over `old`, nested tables merged key by key (so `--set tune.space.x.a=..` keeps `tune.space.x.b`)."""
    out = dict(old)
    for k, v in new.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _defaults_complete(cls: type) -> bool:
    return all(f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
               for f in dataclasses.fields(cls) if f.init)


def build(cls: type, data: dict[str, Any], prefix: str, source: str, base: Any = None, hook: Hook | None = None
          ) -> Any:
    """Dataclass `cls` from `data`, starting from `base` (or the defaults); unknown keys are errors, and so are
    missing keys of a class whose fields are not all defaulted."""
    obj = base if base is not None else (cls() if _defaults_complete(cls) else None)
    if obj is not None and hook is not None:
        obj = hook(obj, data, prefix, source)
    cls = type(obj) if obj is not None else cls
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    values = {}
    for k, v in data.items():
        key = f"{prefix}.{k}" if prefix else k
        if k not in fields:
            raise BenchError(f"unknown key {key!r}", source, hint=f"known keys: {', '.join(fields)}")
        tp, current = hints[k], getattr(obj, k, None)
        if dataclasses.is_dataclass(current):  # a section: its class is the current value's (it may be a subclass)
            if not isinstance(v, dict):
                raise BenchError(f"{key}: expected {type(current).__name__}, got {v!r}", source)
            values[k] = build(type(current), v, key, source, base=current, hook=hook)
        elif typing.get_origin(tp) is dict and isinstance(v, dict) and isinstance(current, dict):
            values[k] = merge(current, v)  # overrides merge into free-form dicts (e.g. model.extra)
        else:
            values[k] = check_type(v, tp, key, source, hook)
            check_field(fields[k], values[k], key, source)
    if obj is None:
        missing = [n for n, f in fields.items() if n not in values and f.init
                   and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
        if missing:
            raise BenchError(f"{prefix or 'table'}: missing key(s) {', '.join(missing)}", source)
    try:
        return cls(**values) if obj is None else dataclasses.replace(obj, **values)
    except (ValueError, BenchError) as e:  # a dataclass's own validation (__post_init__)
        raise BenchError(f"{prefix or 'config'}: {e}", source) from None
