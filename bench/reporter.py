"""Where library code sends user-facing messages: the CLI passes a Rich-backed reporter; defaults stay silent."""

from __future__ import annotations

from typing import Protocol


class Reporter(Protocol):
    def message(self, text: str) -> None: ...


class SilentReporter:
    def message(self, text: str) -> None:
        pass
