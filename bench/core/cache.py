"""On-disk cache of per-sequence arrays (detections, later Re-ID embeddings) as parquet.

An entry's key is the hash of everything that determines its content — the sequence's content fingerprint, the
source name and all its parameters — so a changed parameter never serves a stale entry. Entries are written to a
temp file and renamed, so a killed run never leaves a half-written entry. Concurrent runs sharing the cache take a
per-entry lock (`flock` on `.<key>.lock`, released by the kernel if its holder dies) around reading, computing and
writing an entry, so each entry is computed once and the second run waits and reads it. Each entry records the
sha256 of its parquet file and its row count; an entry that does not match them (truncated, overwritten,
unreadable) is reported in one warning line, deleted and rebuilt, so a damaged cache never crashes a run or changes
its numbers.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow

from bench.core.fsutil import (
    atomic_path,
    atomic_write_json,
    file_lock,
    remove_temp_of,
    sha256_file,
    stable_hash,
)

KINDS = ("detections", "embeddings", "tracks")


@dataclass(frozen=True)
class CacheEntry:
    kind: str
    key: str
    path: Path
    meta: dict[str, Any]

    @property
    def size(self) -> int:
        return self.path.stat().st_size


class ArrayCache:
    """`root/<kind>/<key>.parquet` plus `<key>.json` with the key's ingredients (for `bench cache ls`), the parquet
    file's sha256 and its row count. `warn` receives the one-line report of a damaged entry (default: logging)."""

    def __init__(self, root: Path, warn: Callable[[str], None] | None = None) -> None:
        self.root = Path(root)
        self.warn = warn or logging.getLogger(__name__).warning

    def _paths(self, kind: str, key: str) -> tuple[Path, Path]:
        d = self.root / kind
        return d / f"{key}.parquet", d / f"{key}.json"

    def get_or_compute(
        self, kind: str, key_parts: dict[str, Any], compute: Callable[[], pd.DataFrame], label: str = ""
    ) -> tuple[pd.DataFrame, bool]:
        """Return (frame, hit). On a miss, compute, store atomically and return the stored frame."""
        key = stable_hash(key_parts, length=24)
        with file_lock(self.root / kind / f".{key}.lock"):
            return self._get_or_compute(kind, key, key_parts, compute, label)

    def _get_or_compute(
        self, kind: str, key: str, key_parts: dict[str, Any], compute: Callable[[], pd.DataFrame], label: str
    ) -> tuple[pd.DataFrame, bool]:
        data_path, meta_path = self._paths(kind, key)
        df = self._read_intact(kind, key, label)
        if df is not None:
            return df, True
        df = compute()
        meta_path.unlink(missing_ok=True)  # data and meta of one entry always belong together
        remove_temp_of(data_path)  # a killed writer's leftovers (we hold the entry's lock)
        remove_temp_of(meta_path)
        with atomic_path(data_path) as tmp:
            df.to_parquet(tmp, index=False)
            digest = sha256_file(tmp)
        meta = {
            "label": label,
            "key": key_parts,
            "rows": len(df),
            "sha256": digest,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        atomic_write_json(meta_path, meta)
        return df, False

    def get(self, kind: str, key_parts: dict[str, Any], label: str = "") -> pd.DataFrame | None:
        """The stored frame, or None when absent (or damaged: then reported and deleted)."""
        key = stable_hash(key_parts, length=24)
        if not self._paths(kind, key)[0].exists() and not self._paths(kind, key)[1].exists():
            return None  # no lock needed to see nothing (and none taken on a read-only cache)
        with file_lock(self.root / kind / f".{key}.lock"):
            return self._read_intact(kind, key, label)

    def _read_intact(self, kind: str, key: str, label: str) -> pd.DataFrame | None:
        """The entry's frame if it matches its recorded digest and row count; None if absent or damaged (then it is
        reported and deleted)."""
        data_path, meta_path = self._paths(kind, key)
        if not data_path.exists() and not meta_path.exists():
            return None
        try:
            meta = json.loads(meta_path.read_text())
            if sha256_file(data_path) != meta["sha256"]:
                raise ValueError("its content does not match the recorded sha256")
            df = pd.read_parquet(data_path)
            if len(df) != meta["rows"]:
                raise ValueError(f"it holds {len(df)} rows, not the recorded {meta['rows']}")
            return df
        except (OSError, ValueError, KeyError, TypeError, pyarrow.ArrowException) as e:
            reason = (str(e).splitlines() or [type(e).__name__])[0]
            if isinstance(e, KeyError):
                reason = f"no {e.args[0]} recorded"
            self.warn(f"cache: damaged {kind} entry {key}{f' ({label})' if label else ''}: {reason}; rebuilding it")
            data_path.unlink(missing_ok=True)
            meta_path.unlink(missing_ok=True)
            return None

    def entries(self, kind: str | None = None) -> list[CacheEntry]:
        out = []
        for k in [kind] if kind else KINDS:
            d = self.root / k
            if not d.is_dir():
                continue
            for meta_path in sorted(d.glob("*.json")):
                data_path = meta_path.with_suffix(".parquet")
                if data_path.is_file():
                    try:
                        meta = json.loads(meta_path.read_text())
                    except (OSError, ValueError):
                        meta = {"label": "(damaged: rebuilt on next use)", "key": {}}
                    out.append(CacheEntry(k, meta_path.stem, data_path, meta))
        return out

    def clear(self, kind: str | None = None) -> int:
        """Remove entries (and stray temp files); returns how many entries were removed."""
        n = 0
        for k in [kind] if kind else KINDS:
            d = self.root / k
            if not d.is_dir():
                continue
            for p in d.iterdir():
                if p.suffix == ".parquet" and not p.name.startswith("."):
                    n += 1
                p.unlink()
        return n
