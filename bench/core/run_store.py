"""Run folders on disk: the names a run may take and which finished run is the latest. Torch-free, so `bench report`
finds its run without loading the runner."""

from __future__ import annotations

import re
from pathlib import Path

from bench.core.errors import BenchError
from bench.core.fsutil import is_temp

RUN_ID = re.compile(r"^[A-Za-z0-9_.-]+$")
RESERVED = ("example",)  # results/example/ holds the committed example reports


def run_folder(results_dir: Path, run_id: str) -> Path:
    """`results_dir/run_id` for a user's run id: a plain name (letters, digits, `-`, `_`, `.`; no separators, no
    leading `.`, not `example`) whose folder does not exist yet. Runs are never deleted or replaced."""
    if not RUN_ID.match(run_id) or run_id.startswith(".") or run_id in RESERVED:
        raise BenchError(
            f"--run-id {run_id!r} is not a plain name",
            hint="use letters, digits, '-', '_' and '.' only (no path separators, no leading '.', not 'example')",
        )
    return new_folder(results_dir / run_id)


def new_folder(run_dir: Path) -> Path:
    """`run_dir` if nothing is there yet: runs are never replaced."""
    if run_dir.exists():
        raise BenchError("run folder already exists; runs are never replaced", run_dir, hint="use another --run-id")
    return run_dir


def latest_run(results_dir: Path) -> Path | None:
    """The newest finished run (temporary folders of running or killed runs never count)."""
    runs = (
        [p for p in results_dir.iterdir() if not is_temp(p) and (p / "manifest.json").is_file()]
        if results_dir.is_dir()
        else []
    )
    return max(runs, key=lambda p: (p / "manifest.json").stat().st_mtime) if runs else None
