"""User-facing errors.

A `BenchError` is something the user can fix (bad file, bad config, missing data). The CLI prints it as one
line, without a traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path


class BenchError(Exception):
    """An error the user can fix: names the file (and line) and says what to do."""

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None, hint: str = "") -> None:
        self.path = Path(path) if path is not None else None
        self.line = line
        self.hint = hint
        where = ""
        if self.path is not None:
            where = f"{self.path}:{line}: " if line is not None else f"{self.path}: "
        text = f"{where}{message}"
        if hint:
            text += f" — {hint}"
        super().__init__(text)
