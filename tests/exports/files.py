"""Small export files written from the documented formats (api-notes file-formats.md), and a
helper that imports them through the real use case."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any

from scrobctl.config import Settings
from scrobctl.runtime import Runtime
from scrobctl.sync.files.importer import FileImportResult, plan_import, run_plan


def run_import(*paths: Path, format_name: str | None = None, **options: Any) -> FileImportResult:
    """As the CLI does it: the plan in an event loop, the rows outside it."""
    runtime = Runtime(settings=Settings(), warn=lambda _m: None)
    try:
        plan = asyncio.run(plan_import(runtime, list(paths), format_name=format_name))
        return run_plan(runtime, plan, **options)
    finally:
        runtime.close()


def write_json(path: Path, value: Any, *, indent: int | None = 2) -> Path:
    path.write_text(json.dumps(value, indent=indent), encoding="utf-8")
    return path


def write_zip(path: Path, members: dict[str, Any]) -> Path:
    """Members: name -> text, or a JSON value (written as Spotify and Trakt do, indented)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, value in members.items():
            text = value if isinstance(value, str) else json.dumps(value, indent=2)
            archive.writestr(name, text)
    return path


def csv_text(header: list[str] | None, rows: list[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header is not None:
        writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def jsonl_text(values: list[Any]) -> str:
    return "".join(json.dumps(v) + "\n" for v in values)


def report_lines(result: FileImportResult) -> list[dict[str, Any]]:
    if result.report is None:
        return []
    return [json.loads(line) for line in result.report.read_text().splitlines()]
