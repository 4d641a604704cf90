"""Progress on long ingests: a bar on a terminal, plain lines otherwise, and the closing summary.

rich's ``Progress`` draws the bar (it handles terminal width, redraws and elapsed time, and is
already a dependency). When the output is not a terminal (a pipe, a log file, cron) each step is
one plain line instead, so logs stay readable. A single item shows nothing but the summary.

>>> progress = IngestProgress(sys.stdout)
>>> progress.phase("reading", 40); progress.step("stories/a.txt"); ...; progress.close()
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from index.validate import without_control_characters


@dataclass
class IngestSummary:
    """The counts an ingest ends with."""

    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    failed: int = 0
    seconds: float = 0.0

    def line(self, index_dir: Path | str) -> str:
        return (f"Indexed {self.added} new, {self.replaced} replaced, {self.unchanged} unchanged, "
                f"{self.failed} failed in {self.seconds:.1f} s into {index_dir}")


class IngestProgress:
    """Steps of an ingest, in phases ("reading", "indexing"), shown on ``stream``."""

    def __init__(self, stream: TextIO, *, terminal: bool | None = None) -> None:
        self.stream = stream
        self.started = time.monotonic()
        self._terminal = stream.isatty() if terminal is None else terminal
        self._bar: Any = None
        self._task: Any = None
        self._name = ""
        self._done = 0
        self._total = 0

    def phase(self, name: str, total: int) -> None:
        """Start a phase of ``total`` steps; shown only when there is more than one."""
        self._name, self._done, self._total = name, 0, total
        if self._bar is not None:
            self._bar.reset(self._task, total=total, description=name, visible=total > 1)
        elif self._terminal and total > 1:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(TextColumn("{task.description:<9}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TextColumn("{task.fields[item]}"),
                                 console=Console(file=self.stream, force_terminal=True), transient=True)
            self._task = self._bar.add_task(name, total=total, item="")
            self._bar.start()

    def grow(self, more: int) -> None:
        """The phase turned out longer (a feed's articles join the reading)."""
        self._total += more
        if self._bar is not None:
            self._bar.update(self._task, total=self._total, visible=self._total > 1)

    def step(self, item: str, n: int = 1) -> None:
        self._done += n
        item = without_control_characters(item)
        if self._bar is not None:
            self._bar.update(self._task, advance=n, item=item[-60:])
        elif self._total > 1:
            print(f"[{self._done}/{self._total}] {self._name} {item}", file=self.stream, flush=True)

    def close(self) -> float:
        """Stop drawing; the seconds since the start."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        return time.monotonic() - self.started
