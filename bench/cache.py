"""On-disk cache of per-sequence arrays (detections, later Re-ID embeddings) as parquet.

An entry's key is the hash of everything that determines its content — the sequence's content fingerprint, the
source name and all its parameters — so a changed parameter never serves a stale entry. Entries are written to a
temp file and renamed, so a killed run never leaves a half-written entry.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from bench.fsutil import atomic_path, atomic_write_json, stable_hash

KINDS = ("detections", "embeddings")


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
    """`root/<kind>/<key>.parquet` plus `<key>.json` with the key's ingredients (for `bench cache ls`)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _paths(self, kind: str, key: str) -> tuple[Path, Path]:
        d = self.root / kind
        return d / f"{key}.parquet", d / f"{key}.json"

    def get_or_compute(
        self, kind: str, key_parts: dict[str, Any], compute: Callable[[], pd.DataFrame], label: str = ""
    ) -> tuple[pd.DataFrame, bool]:
        """Return (frame, hit). On a miss, compute, store atomically and return the stored frame."""
        key = stable_hash(key_parts, length=24)
        data_path, meta_path = self._paths(kind, key)
        if data_path.is_file() and meta_path.is_file():
            return pd.read_parquet(data_path), True
        df = compute()
        with atomic_path(data_path) as tmp:
            df.to_parquet(tmp, index=False)
        meta = {
            "label": label,
            "key": key_parts,
            "rows": len(df),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        atomic_write_json(meta_path, meta)
        return df, False

    def entries(self, kind: str | None = None) -> list[CacheEntry]:
        out = []
        for k in [kind] if kind else KINDS:
            d = self.root / k
            if not d.is_dir():
                continue
            for meta_path in sorted(d.glob("*.json")):
                data_path = meta_path.with_suffix(".parquet")
                if data_path.is_file():
                    out.append(CacheEntry(k, meta_path.stem, data_path, json.loads(meta_path.read_text())))
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
