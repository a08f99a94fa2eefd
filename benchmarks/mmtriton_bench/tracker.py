"""Progress display for a benchmark run: one bar per stage, with what is being measured now."""

from __future__ import annotations

import logging
from typing import Any, Optional

log = logging.getLogger(__name__)


class Tracker:
    """Wraps a ``rich`` Progress (or nothing, for tests and logs-only runs)."""

    def __init__(self, progress: Optional[Any] = None) -> None:
        self.progress = progress
        self.task: Optional[int] = None
        self.stages: list[str] = []

    def stage(self, name: str, total: int) -> None:
        self.stages.append(name)
        log.info("bench: %s", name)
        if self.progress is not None:
            if self.task is not None:
                self.progress.update(self.task, completed=self.progress.tasks[-1].total)
            self.task = self.progress.add_task(name, total=max(1, total))

    def describe(self, text: str) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, description=text)

    def advance(self, text: Optional[str] = None) -> None:
        if text:
            log.info("bench: %s", text)
            self.describe(text)
        if self.progress is not None and self.task is not None:
            self.progress.advance(self.task)
