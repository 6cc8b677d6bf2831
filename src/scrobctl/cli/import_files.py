"""Rendering `import --file`: a progress bar (bytes of the file) on a terminal, a line every
few seconds otherwise, and the summary."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from scrobctl.cli.output import Output
from scrobctl.errors import ExitCode

if TYPE_CHECKING:
    from scrobctl.sync.files.base import Progress
    from scrobctl.sync.files.importer import FileImportResult

PLAIN_EVERY = 5.0  # seconds between progress lines when stderr is not a terminal


def import_files(
    out: Output,
    files: list[Path],
    format_name: str | None,
    profile: str,
    dry_run: bool,
    json_output: bool = False,
) -> None:
    from scrobctl.cli.run import Command
    from scrobctl.sync.files.importer import plan_import, run_plan

    view = _Progress()
    with Command(out) as cmd, view:
        plan = cmd.call(plan_import, files, format_name=format_name, on_match=view.matching)
        result = cmd.call(
            run_plan,
            plan,
            profile=profile,
            dry_run=dry_run,
            on_progress=view.update,
            on_file=view.file,
        )
    again = " ".join(f"--file {f}" for f in files)
    if format_name:
        again += f" --format {format_name}"
    if profile != "default":
        again += f" --profile {profile}"
    if json_output:
        code = 130 if result.interrupted else ExitCode.FAILED if result.summary.unreadable else 0
        out.data(summary_json(result, dry_run), code)
        if code:
            raise typer.Exit(code)
        return
    _render(out, result, dry_run, again)


def summary_json(result: FileImportResult, dry_run: bool) -> dict[str, Any]:
    """The `import --file --json` shape (README, JSON output)."""
    s = result.summary
    return {
        "dry_run": dry_run,
        "files": [{"path": path, "format": label} for path, label in s.files],
        "rows": s.rows,
        "plays": {"new": s.plays, "known": s.duplicates},
        "ratings": {"new": s.ratings, "known": s.ratings_known},
        "matched_by_id": s.by_id,
        "matched_by_title": s.by_title,
        "below_threshold": s.below_threshold,
        "skipped": dict(s.skipped),
        "unmatched": s.unmatched,
        "unreadable": s.unreadable,
        "report": str(result.report) if result.report else None,
        "interrupted": result.interrupted,
        "kept": result.kept,
    }


def _render(out: Output, result: FileImportResult, dry_run: bool, again: str) -> None:
    s = result.summary
    for path, label in s.files:
        out.info(f"{path}: {label}")
    verb = "would add" if dry_run else "added"
    parts = [
        f"{s.rows} rows read",
        f"{verb} {s.plays} plays and {s.ratings} ratings",
        f"duplicates {s.duplicates}",
        f"below threshold {s.below_threshold}",
        f"skipped {sum(s.skipped.values())}",
        f"unmatched {s.unmatched}",
        f"unreadable {s.unreadable}",
    ]
    known = f"{s.ratings_known} ratings already known" if s.ratings_known else ""
    matched = f"matched {s.by_id} by id, {s.by_title} by title"
    out.info("import: " + ", ".join(parts) + "; " + "; ".join(x for x in (known, matched) if x))
    for reason, count in sorted(s.skipped.items(), key=lambda kv: -kv[1]):
        out.info(f"  skipped {count}: {reason}")
    if result.report is not None:
        out.info(f"rows not imported are listed in {result.report}")
        if s.unmatched:
            out.info(
                '  to settle unmatched films, set "tmdb" on their lines (one of the candidates)'
                f" and run: scrobctl import --file {result.report}"
            )
    if result.interrupted:
        out.info(
            f"interrupted: {result.kept} plays were kept; run `scrobctl import {again}` again"
            " to continue (what is already imported counts as duplicates)"
        )
        raise typer.Exit(ExitCode.INTERRUPTED)
    if s.unreadable:
        raise typer.Exit(ExitCode.FAILED)


class _Progress:
    """A Rich bar of bytes read on a terminal; a plain line every few seconds otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self._bar: Any = None
        self._task: Any = None
        self._last = time.monotonic()
        self._name = ""

    def __enter__(self) -> _Progress:
        if self.tty:
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                TextColumn,
                TimeRemainingColumn,
            )

            from scrobctl.cli.output import live_bar

            self._bar = live_bar(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TextColumn("{task.fields[rows]} rows"),
                TimeRemainingColumn(),
            )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def file(self, path: Path, fmt: Any, progress: Progress) -> None:
        self._name = path.name
        if self._bar is not None:
            self._task = self._bar.add_task(f"{path.name}", total=progress.total or None, rows=0)

    def matching(self, done: int, total: int) -> None:
        """Films being looked up on TMDb (before their rows are read)."""
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, description=f"{self._name}: TMDb {done}/{total}")
            return
        now = time.monotonic()
        if now - self._last >= PLAIN_EVERY or done == total:
            self._last = now
            print(f"import: films looked up on TMDb: {done} of {total}", file=sys.stderr)

    def update(self, progress: Progress, rows: int) -> None:
        if self._bar is not None and self._task is not None:
            done = min(progress.done, progress.total) if progress.total else progress.done
            self._bar.update(self._task, completed=done, rows=rows, description=self._name)
            return
        now = time.monotonic()
        if now - self._last >= PLAIN_EVERY:
            self._last = now
            done = min(progress.done, progress.total)  # "N of M" never above M
            share = f" ({done * 100 // progress.total} %)" if progress.total else ""
            print(f"{self._name}: {rows} rows read{share}", file=sys.stderr)
