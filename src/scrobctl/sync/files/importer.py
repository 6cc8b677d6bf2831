"""`import --file`: export files through the one ingest path, with a report of what was not
imported.

Each file's rows become playback events (and ratings) and go through `Ingest` exactly as piped
events do: the same item matching and duplicate rules, so a file imported twice, two overlapping
exports, or an export overlapping an API import add nothing. The plays are recorded with their
source (`file:<format>`) and queued for no service: sending them is `sync`'s job.
"""

from __future__ import annotations

import json
import time
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from scrobctl.errors import ScrobctlError, UsageError
from scrobctl.runtime import Runtime
from scrobctl.scrobble.enqueue import Ingest, IngestSummary
from scrobctl.scrobble.events import Line
from scrobctl.store.plays import count_plays
from scrobctl.sync.files import Format, detect, load, names
from scrobctl.sync.files.base import FileLine, Numbering, Progress, Source

PROGRESS_EVERY = 1000  # rows between progress callbacks
_ENCODE = json.JSONEncoder(ensure_ascii=False, default=str).encode


@dataclass
class FileImportSummary:
    rows: int = 0
    plays: int = 0  # new to the archive
    ratings: int = 0  # new, or changed
    duplicates: int = 0  # plays the archive had already
    ratings_known: int = 0  # ratings the archive had already, with that value
    by_id: int = 0  # rows whose item was matched by an id ...
    by_title: int = 0  # ... or by artist and title (music without ids)
    below_threshold: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    unmatched: int = 0
    unreadable: int = 0
    files: list[tuple[str, str]] = field(default_factory=list)  # (path, format label)

    def add(self, ingest: IngestSummary) -> None:
        self.plays += ingest.recorded_only + ingest.queued
        self.ratings += ingest.rated - ingest.ratings_known
        self.ratings_known += ingest.ratings_known
        self.by_id += ingest.by_id
        self.by_title += ingest.by_title
        self.duplicates += ingest.duplicate
        self.below_threshold += ingest.below_threshold
        self.unreadable += len(ingest.invalid)
        self.skipped["not a finished play"] += ingest.not_a_play
        self.skipped += Counter()  # drop zero counts


@dataclass
class FileImportResult:
    summary: FileImportSummary
    report: Path | None
    interrupted: bool = False
    kept: int = 0  # plays committed before an interruption


@dataclass
class Context:
    """What formats may need besides their file: the runtime, and a TMDb client when set."""

    runtime: Runtime
    tmdb: Any = None


ProgressCallback = Callable[[Progress, int], None]


def choose_format(source: Source, name: str | None) -> Format:
    if name is not None:
        if name not in names() and name != "report":
            raise UsageError(f"unknown format {name!r}", f"known formats: {', '.join(names())}")
        return load(name)
    found = detect(source)
    if found is None:
        raise UsageError(
            f"{source.path}: not an export file scrobctl knows",
            f"known formats: {', '.join(names())} (and import reports); see --help",
        )
    return found


class Report:
    """Every row not imported, one JSON line each, written as they come."""

    def __init__(self, folder: Path, stamp: str) -> None:
        self._folder = folder
        self._stamp = stamp
        self.path: Path | None = None
        self._fh: IO[str] | None = None

    def write(self, entry: dict[str, Any], data_text: str | None = None) -> None:
        """One line; `data_text`, the row's JSON as the file had it, is put in as it is
        (encoding a 700-byte row again cost more than a third of a skipped row's time)."""
        if self._fh is None:
            self._folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            for n in range(1, 1000):  # a report of its own, even for two imports in one second
                suffix = "" if n == 1 else f"-{n}"
                self.path = self._folder / f"import-files-{self._stamp}{suffix}.jsonl"
                try:
                    self._fh = self.path.open("x", encoding="utf-8")
                    break
                except FileExistsError:
                    continue
            else:
                raise ScrobctlError(f"too many import reports named {self.path}")
        line = _ENCODE(entry)
        if data_text is not None:
            line = f'{line[:-1]}, "data": {data_text}}}'
        self._fh.write(line + "\n")

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()


@dataclass
class _FileRun:
    """One file: its lines, minus those the format skipped, into an Ingest."""

    path: Path
    fmt: Format
    summary: FileImportSummary
    report: Report
    progress: Progress
    on_progress: ProgressCallback | None

    def entry(self, line: FileLine, outcome: str, reason: str) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "file": str(self.path),
            "format": self.fmt.name,
            "member": line.member,
            "row": line.row,
            "outcome": outcome,
            "reason": reason,
        }
        if line.text is None:
            entry["data"] = line.raw
        if line.extra:
            entry.update(line.extra)
        return entry

    def filtered(self, lines: Iterable[FileLine]) -> Iterator[Line]:
        summary = self.summary
        for line in lines:
            summary.rows += 1
            if summary.rows % PROGRESS_EVERY == 0 and self.on_progress is not None:
                self.on_progress(self.progress, summary.rows)
            if line.skip is not None:
                outcome = "unmatched" if line.extra and "candidates" in line.extra else "skipped"
                if outcome == "unmatched":
                    summary.unmatched += 1
                else:
                    summary.skipped[line.skip] += 1
                self.report.write(self.entry(line, outcome, line.skip), line.text)
                continue
            yield line

    def on_skip(self, line: Line, outcome: str, reason: str) -> None:
        if isinstance(line, FileLine):
            self.report.write(self.entry(line, outcome, reason), line.text)


@dataclass
class Plan:
    """The files to import, each with its format and what the format found out beforehand."""

    sources: list[Source]
    formats: list[Format]
    states: list[Any]

    def close(self) -> None:
        for source in self.sources:
            source.close()


async def plan_import(
    runtime: Runtime,
    paths: list[Path],
    *,
    format_name: str | None = None,
    on_match: Callable[[int, int], None] | None = None,
) -> Plan:
    """Open the files, tell their formats, and do what needs the network (Letterboxd's TMDb
    look-ups). The rows are read by `run_plan`, outside the event loop, so that Ctrl-C
    interrupts it at once (asyncio only cancels a task at its next await)."""
    plan = Plan([], [], [])
    try:
        for path in paths:
            try:
                if path.is_dir():
                    raise IsADirectoryError(21, "a folder, not an export file")
                plan.sources.append(Source(path))
            except (OSError, zipfile.BadZipFile) as exc:
                reason = getattr(exc, "strerror", None) or str(exc)
                raise UsageError(f"cannot read {path}: {reason}") from None
        try:
            plan.formats = [choose_format(source, format_name) for source in plan.sources]
        except (OSError, zipfile.BadZipFile) as exc:
            raise UsageError(f"cannot read the files: {exc}") from None
        context = Context(runtime)
        if any(fmt.needs_tmdb for fmt in plan.formats):
            context.tmdb = _tmdb_matcher(runtime, on_match)
        for source, fmt in zip(plan.sources, plan.formats, strict=True):
            plan.states.append(await fmt.prepare(source, context))
            source.progress.done = 0  # what preparing read is read again
    except BaseException:
        plan.close()
        raise
    return plan


def run_plan(
    runtime: Runtime,
    plan: Plan,
    *,
    profile: str = "default",
    dry_run: bool = False,
    on_progress: ProgressCallback | None = None,
    on_file: Callable[[Path, Format, Progress], None] | None = None,
) -> FileImportResult:
    """Import each file in turn. Ctrl-C keeps what was committed (every 1,000 rows) and comes
    back as `interrupted`; importing the same files again continues, the rows already in the
    archive counting as duplicates."""
    try:
        store = runtime.store()
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(runtime.clock.now()))
        report = Report(runtime.data_dir / "reports", stamp)
        summary = FileImportSummary()
        numbering = Numbering(profile)
        source_name = ""
        before = 0
        try:
            for source, fmt, state in zip(plan.sources, plan.formats, plan.states, strict=True):
                summary.files.append((str(source.path), fmt.label))
                source.progress.total = sum(m.size for m in source.members)
                if on_file is not None:
                    on_file(source.path, fmt, source.progress)
                run = _FileRun(source.path, fmt, summary, report, source.progress, on_progress)
                source_name = f"file:{getattr(state, 'source', None) or fmt.name}"
                before = count_plays(store, source=source_name)
                ingest = Ingest(
                    store,
                    {},
                    dry_run=dry_run,
                    source=source_name,
                    rating_source=getattr(state, "source", None) or fmt.rating_source,
                    rule=fmt.rule,
                    on_skip=run.on_skip,
                    precision=fmt.precision(source),
                )
                try:
                    summary.add(ingest.run(run.filtered(fmt.lines(source, numbering, state))))
                except KeyboardInterrupt:
                    summary.add(ingest.summary)
                    raise
                except (OSError, zipfile.BadZipFile, EOFError, zlib.error) as exc:
                    kept = 0 if dry_run else count_plays(store, source=source_name) - before
                    raise ScrobctlError(
                        f"{source.path} could not be read to the end ({exc})",
                        f"the {kept:,} plays committed from it before were kept (and every"
                        " earlier file's); fix or download the file again and import it again",
                    ) from None
                if on_progress is not None:
                    on_progress(source.progress, summary.rows)
        except KeyboardInterrupt:
            kept = 0
            if not dry_run and source_name:
                kept = count_plays(store, source=source_name) - before
            return FileImportResult(summary, report.path, interrupted=True, kept=kept)
        finally:
            report.close()
        return FileImportResult(summary, report.path)
    finally:
        plan.close()


def _tmdb_matcher(runtime: Runtime, on_step: Callable[[int, int], None] | None) -> Any:
    """TMDb's movie search, for formats that name films without ids (Letterboxd)."""
    settings = runtime.settings.tmdb
    if not settings.api_key:
        raise UsageError(
            "Letterboxd exports name films without ids: finding them needs TMDb's search",
            "set SCROBCTL_TMDB__API_KEY (a TMDb API key or read access token), then import again",
        )
    from scrobctl.sync.files.tmdb_match import TmdbMatcher

    return TmdbMatcher(runtime, str(settings.api_url), settings.api_key, on_step)
