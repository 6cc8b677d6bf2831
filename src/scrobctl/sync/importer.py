"""The import driver: pages from a reader into the store, a checkpoint with every page.

Resume: a run that finds its last import unfinished continues from that checkpoint (same fixed
end time, next page). Incremental: a finished import leaves a high-water mark, the newest play
it saw; the next run without --full asks only for plays after it.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scrobctl.errors import ServiceUnavailable
from scrobctl.lock import exclusive
from scrobctl.runtime import Runtime
from scrobctl.store.checkpoints import (
    DONE,
    HISTORY,
    INTERRUPTED,
    RUNNING,
    Checkpoint,
    load_checkpoint,
    mark_interrupted,
    save_checkpoint,
)
from scrobctl.store.imports import ImportWriter
from scrobctl.sync.pages import Page, Reader, StepFailed
from scrobctl.sync.resolve import TmdbResolver, resolved

OVERLAP = 60  # seconds re-read before the high-water mark; re-reading is harmless


@dataclass
class ImportProgress:
    """Entries so far (a resumed run counts on from its checkpoint): `processed` of `total`,
    `matched` of them by a strong id, `failed` unreadable, the rest matched by title; plays
    and ratings apart, each new to the archive or already known."""

    total: int | None = None
    processed: int = 0
    matched: int = 0
    failed: int = 0
    pages: int = 0  # in this run
    plays: int = 0
    ratings: int = 0
    new_plays: int = 0
    new_ratings: int = 0

    @property
    def by_title(self) -> int:
        return self.processed - self.matched - self.failed

    @property
    def known_plays(self) -> int:
        return self.plays - self.new_plays

    @property
    def known_ratings(self) -> int:
        return self.ratings - self.new_ratings

    def counts(self) -> dict[str, int]:
        return {
            "plays": self.plays,
            "ratings": self.ratings,
            "new_plays": self.new_plays,
            "new_ratings": self.new_ratings,
        }

    @classmethod
    def restored(cls, checkpoint: Checkpoint) -> ImportProgress:
        counts = {k: int(checkpoint.counts.get(k, 0)) for k in cls().counts()}
        return cls(
            checkpoint.cursor.get("total"),
            checkpoint.processed,
            checkpoint.matched,
            checkpoint.failed,
            **counts,
        )


@dataclass
class ImportResult:
    service: str
    profile: str
    progress: ImportProgress
    resumed: bool
    since: int | None
    report: Path | None
    failed_step: StepFailed | None = None  # a later step (loves, feedback) that failed


def lock_path(runtime: Runtime, profile: str, service: str) -> Path:
    """Held by the process importing; `status` tells a live "running" row from a killed one."""
    from scrobctl.paths import import_lock

    return import_lock(runtime.data_dir, profile, service)


async def run_import(
    runtime: Runtime,
    reader: Reader,
    profile: str,
    *,
    full: bool = False,
    since: int | None = None,
    on_page: Callable[[ImportProgress], None] | None = None,
    resolver: TmdbResolver | None = None,
) -> ImportResult:
    """One import at a time per (profile, service). A run that stops (an error, Ctrl-C,
    SIGTERM) marks its row "interrupted" with why; one killed outright leaves it "running"
    with no lock held, and the next run continues it either way (issue 17)."""
    service = reader.service
    with exclusive(lock_path(runtime, profile, service), f"import {service}"):
        try:
            return await _run(runtime, reader, profile, full, since, on_page, resolver)
        except BaseException as exc:
            # If the database itself failed, the row stays "running" and the next run recovers it.
            with contextlib.suppress(Exception):
                mark_interrupted(runtime.store(), profile, service, HISTORY, _why(exc))
            raise


def _why(exc: BaseException) -> str:
    import asyncio

    if isinstance(exc, KeyboardInterrupt | asyncio.CancelledError):
        return "interrupted (Ctrl-C or SIGTERM)"
    return f"stopped: {exc}"


async def _run(
    runtime: Runtime,
    reader: Reader,
    profile: str,
    full: bool,
    since: int | None,
    on_page: Callable[[ImportProgress], None] | None,
    resolver: TmdbResolver | None,
) -> ImportResult:
    store = runtime.store()
    service = reader.service
    previous = load_checkpoint(store, profile, service, HISTORY)
    # "running" here is a run that was killed: this process holds the lock now.
    unfinished = previous is not None and previous.state in (RUNNING, INTERRUPTED)
    resumed = unfinished and not full
    if resumed:
        assert previous is not None
        cursor, progress = previous.cursor, ImportProgress.restored(previous)
        since = previous.cursor.get("since")
        high_water = previous.high_water
    else:
        # What the reader asked to remember from the last finished run (Simkl's activity time).
        memo = previous.cursor.get("memo") if previous is not None and not full else None
        cursor, progress = ({"memo": memo} if memo else {}), ImportProgress()
        if since is None and not full and previous is not None and previous.high_water:
            since = previous.high_water - OVERLAP
        high_water = None if full or previous is None else previous.high_water
    writer = ImportWriter(store, profile, service)
    report = _Report(runtime, service)
    memo = cursor.get("memo")
    pages = _guarded(reader, cursor, since)
    if resolver is not None:
        pages = resolved(pages, resolver)
    failed_step: StepFailed | None = None
    try:
        async for page in pages:
            memo = page.cursor.get("memo", memo)
            if page.total is not None:
                progress.total = page.total
            newest = max((p.watched_at for p in page.plays), default=None)
            if newest is not None:
                high_water = max(high_water or 0, newest)
            state = {**page.cursor, "since": since, "total": progress.total}
            before = ImportProgress(**{**progress.__dict__})
            try:
                with store.transaction():  # the page and its checkpoint, together
                    for play in page.plays:
                        written = writer.play(play)
                        progress.matched += written.by_id
                        progress.new_plays += written.new
                    for rating in page.ratings:
                        written = writer.rating(rating)
                        progress.matched += written.by_id
                        progress.new_ratings += written.new
                    progress.plays += len(page.plays)
                    progress.ratings += len(page.ratings)
                    progress.processed += len(page.plays) + len(page.ratings) + len(page.failed)
                    progress.failed += len(page.failed)
                    checkpoint = _checkpoint(RUNNING, state, high_water, progress)
                    save_checkpoint(store, profile, service, HISTORY, checkpoint)
            except BaseException:
                progress.__dict__.update(before.__dict__)  # the page was rolled back
                writer.forget_cache()
                raise
            writer.forget_cache()  # memory stays flat however long the history
            report.add(page.failed)
            progress.pages += 1
            if on_page is not None:
                on_page(progress)
    except StepFailed as exc:
        failed_step = exc  # the history itself came home complete: done, and the step named
    with store.transaction():
        detail = (
            f"{failed_step.step} not imported: {failed_step.error.reason}" if failed_step else None
        )
        done = _checkpoint(DONE, {"memo": memo} if memo else {}, high_water, progress, detail)
        save_checkpoint(store, profile, service, HISTORY, done)
    return ImportResult(service, profile, progress, resumed, since, report.path, failed_step)


async def _guarded(
    reader: Reader, cursor: dict[str, Any], since: int | None
) -> AsyncIterator[Page]:
    """Pages from the reader; an answer of a shape no reader expected (a 200 with a list where
    an object belongs, a number for a list) is a service problem, not a crash."""
    pages = reader.pages(cursor, since)
    paging = _PagingCheck(reader.service)
    while True:
        try:
            page = await anext(pages)
        except StopAsyncIteration:
            return
        except StepFailed:
            raise
        except (TypeError, ValueError, AttributeError, KeyError, OverflowError) as exc:
            raise ServiceUnavailable(
                reader.service,
                f"an answer had an unexpected shape ({type(exc).__name__})",
                "run the import again later; it continues where it stopped",
            ) from None
        paging.check(page)
        yield page


# The same non-empty page this many times in a row: the server ignores paging (issue #16: the
# same 1,000 listens for every max_ts, or page after page of a count of 10**6), and the import
# would run for ever.
REPEATED_PAGES = 3
# More entries than the service said it has, by this factor and margin: it is not ending.
OVERRUN_FACTOR, OVERRUN_MARGIN = 2, 10_000


class _PagingCheck:
    def __init__(self, service: str) -> None:
        self.service = service
        self.last: int | None = None
        self.repeats = 0
        self.seen = 0

    def check(self, page: Page) -> None:
        self.seen += len(page.plays) + len(page.ratings) + len(page.failed)
        if page.plays:
            key = hash(tuple((p.watched_at, p.ref.kind, repr(p.ref.ids)) for p in page.plays))
            self.repeats = self.repeats + 1 if key == self.last else 1
            self.last = key
            if self.repeats >= REPEATED_PAGES:
                self._stop(f"it sent the same page {self.repeats} times (it ignores paging)")
        if page.total is not None and self.seen > OVERRUN_FACTOR * page.total + OVERRUN_MARGIN:
            self._stop(f"it sent {self.seen} entries of the {page.total} it said it has")

    def _stop(self, why: str) -> None:
        raise ServiceUnavailable(
            self.service,
            f"the import was stopped: {why}",
            "what came before is kept; try again later, or report it to the server's operator",
        )


def _checkpoint(
    state: str,
    cursor: dict[str, Any],
    high_water: int | None,
    progress: ImportProgress,
    detail: str | None = None,
) -> Checkpoint:
    return Checkpoint(
        state,
        cursor,
        high_water,
        progress.processed,
        progress.matched,
        progress.failed,
        progress.counts(),
        detail,
    )


class _Report:
    """Entries that could not be imported, one JSON line each, written as they come."""

    def __init__(self, runtime: Runtime, service: str) -> None:
        self._runtime = runtime
        self._service = service
        self.path: Path | None = None

    def add(self, failures: list[dict[str, Any]]) -> None:
        if not failures:
            return
        if self.path is None:
            folder = self._runtime.data_dir / "reports"
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(self._runtime.clock.now()))
            self.path = folder / f"import-{self._service}-{stamp}.jsonl"
        with self.path.open("a", encoding="utf-8") as fh:
            for failure in failures:
                fh.write(json.dumps(failure, default=str) + "\n")
