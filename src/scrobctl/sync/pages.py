"""What a history reader yields: one page of plays (or ratings) and the cursor after it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from scrobctl.errors import ServiceError
from scrobctl.store.imports import ImportedPlay, ImportedRating


@dataclass
class Page:
    plays: list[ImportedPlay] = field(default_factory=list)
    ratings: list[ImportedRating] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)  # entries that could not be read
    # Where to resume after this page. A "memo" key is kept past the end of the run and handed
    # to the next one (e.g. the activity time Simkl's gate compares).
    cursor: dict[str, Any] = field(default_factory=dict)
    total: int | None = None  # entries in the whole import, when the service says


class Reader(Protocol):
    """Reads one service's history newest-first (or as the service serves it), page by page.

    `cursor` is the last checkpoint of an interrupted run ({} to start); `since` limits an
    incremental run to plays after that time.
    """

    service: str

    def pages(self, cursor: dict[str, Any], since: int | None) -> AsyncIterator[Page]: ...


class StepFailed(Exception):
    """A later step of an import (loved tracks, feedback) failed after the history itself was
    read to the end: the plays stay recorded and complete, and the step is named with what to do.
    """

    def __init__(self, step: str, error: ServiceError, hint: str) -> None:
        super().__init__(f"{step}: {error.reason}")
        self.step = step
        self.error = error
        self.hint = hint
