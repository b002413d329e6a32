"""Atomic file writes: a killed run never leaves a half-written result or cache entry."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.errors import BenchError


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


@contextmanager
def atomic_dir(path: str | Path, replace: bool = True) -> Iterator[Path]:
    """Yield a temporary directory beside `path`; rename it onto `path` only if the block succeeds.

    The temporary name carries this process's id and host (`.<name>.pid<PID>@<host>.<random>.tmp`), so a later run
    on the same host can tell a folder left by a killed process (see `remove_stale_temp`); folders of other hosts
    (Dask workers sharing the filesystem) are never touched. With `replace=False` an existing `path` is an error,
    before and after the block: a finished folder is never deleted or replaced.
    """
    path = Path(path)
    if not replace and path.exists():
        raise BenchError("folder already exists; it is never replaced", path, hint="choose another name")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.pid{os.getpid()}@{_HOST}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        if path.exists():
            if not replace:
                raise BenchError("folder already exists; it is never replaced", path, hint="choose another name")
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


_HOST = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())
_TEMP_PID = re.compile(r"^\..*\.pid(\d+)(?:@([A-Za-z0-9-]*))?\.[^.]*\.tmp$")


def is_temp(path: Path) -> bool:
    """A folder `atomic_dir` is still building (or a killed process left): never a result."""
    return path.name.startswith(".") and path.name.endswith(".tmp")


def remove_stale_temp(parent: str | Path) -> list[Path]:
    """Delete temporary folders in `parent` whose owner process on this host is gone (left by a SIGKILLed run)."""
    import psutil

    removed = []
    parent = Path(parent)
    for p in parent.iterdir() if parent.is_dir() else []:
        m = _TEMP_PID.match(p.name)
        if m and p.is_dir() and m.group(2) in (None, _HOST) and not psutil.pid_exists(int(m.group(1))):
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    return removed


def stable_hash(obj: Any, length: int = 16) -> str:
    """Hash of a JSON-able object, independent of dict order: used for cache keys and config hashes."""
    blob = json.dumps(obj, sort_keys=True, default=str, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:length]


def sha256_file(path: str | Path) -> str:
    """Full sha256 hex digest of a file's content, read in 1 MiB chunks (checkpoints can be hundreds of MB)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_digest(*paths: str | Path, length: int = 16) -> str:
    """Hash of the names and contents of one or more files (a sequence's or code's identity for cache keys)."""
    return stable_hash([(Path(p).name, sha256_file(p)) for p in paths], length)
