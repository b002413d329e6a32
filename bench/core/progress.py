"""Progress and messages from library code: one small interface the CLI implements with Rich (silent in tests).

Library modules never own a console; they take a `Reporter` argument (default `SilentReporter()`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol


class ProgressTask(Protocol):
    def advance(self, n: int = 1) -> None: ...


class Alert(str):
    """A message that needs the user's attention (a real cross-check disagreement): shown in red where the
    reporter has colour, passed as plain text everywhere else."""


class Reporter(Protocol):
    def message(self, text: str) -> None: ...

    def progress(self, description: str, total: int | None) -> AbstractContextManager[ProgressTask]: ...


class _NoTask:
    def advance(self, n: int = 1) -> None:
        pass


class SilentReporter:
    """Drops everything: the default for library calls and tests."""

    def message(self, text: str) -> None:
        pass

    @contextmanager
    def progress(self, description: str, total: int | None) -> Iterator[ProgressTask]:
        yield _NoTask()


class RichReporter:
    """Messages and progress bars on stderr, for the CLI."""

    def __init__(self) -> None:
        from rich.console import Console

        self.console = Console(stderr=True, markup=False)  # names are data, never markup

    def message(self, text: str) -> None:
        self.console.print(text, highlight=False, markup=False, soft_wrap=True,  # one line, paths unbroken
                           style="red" if isinstance(text, Alert) else None)

    @contextmanager
    def progress(self, description: str, total: int | None) -> Iterator[ProgressTask]:
        from rich.markup import escape
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=self.console, transient=False) as bar:
            task = bar.add_task(escape(description), total=total)  # the column reads it as markup

            class _Task:
                def advance(self, n: int = 1) -> None:
                    bar.advance(task, n)

            yield _Task()
