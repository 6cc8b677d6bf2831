"""What every export-file format shares: opening a file or a zip in place, counting the bytes
read for progress, streaming JSON and CSV rows, and the line type the formats yield.

A format module turns rows into `FileLine`s: an `Event` for the one ingest path
(`scrobble/enqueue.py`), or why the row is skipped or unreadable. It never writes to the store.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from scrobctl.scrobble.events import Event, EventError, Line

CHUNK = 1 << 16
MAX_ROW_BYTES = 1 << 20  # a JSON row longer than this is not a row of any export we read


@dataclass(frozen=True, slots=True)
class FileLine(Line):
    """A row of an export file: where it was (`member`, `row`), the row itself for the report,
    and `skip` when the format itself decided not to import it (incognito, a repeat...)."""

    member: str = ""
    row: int = 0
    raw: Any = None
    skip: str | None = None
    extra: dict[str, Any] | None = None  # more for the report (e.g. TMDb candidates)
    text: str | None = None  # the row's own JSON text, when the file had it (for the report)


class Progress:
    """Bytes read so far (of `total`, the uncompressed size of everything to be read)."""

    def __init__(self) -> None:
        self.total = 0
        self.done = 0


class _Counted(io.RawIOBase):
    """A readable stream that adds what it reads to a Progress."""

    def __init__(self, inner: IO[bytes], progress: Progress) -> None:
        self._inner = inner
        self._progress = progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._inner.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self._progress.done += n
        return n

    def close(self) -> None:
        self._inner.close()
        super().close()


@dataclass
class Member:
    """One file to read: a plain file, or a member of a zip (read in place, never unpacked)."""

    name: str
    size: int
    _open: Callable[[], IO[bytes]]
    progress: Progress = field(default_factory=Progress)

    def open(self) -> IO[bytes]:
        return io.BufferedReader(_Counted(self._open(), self.progress), CHUNK)

    def head(self, n: int = 4096) -> bytes:
        with self._open() as fh:
            return fh.read(n)


class Source:
    """A path given to `--file`: one plain file, or a zip and its members."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.progress = Progress()
        self._zip: zipfile.ZipFile | None = None
        if zipfile.is_zipfile(path):
            self._zip = zipfile.ZipFile(path)
            self.members = [
                Member(
                    info.filename, info.file_size, _member_opener(self._zip, info), self.progress
                )
                for info in self._zip.infolist()
                if not info.is_dir()
            ]
        else:
            size = path.stat().st_size
            self.members = [Member(path.name, size, lambda: path.open("rb"), self.progress)]

    @property
    def is_zip(self) -> bool:
        return self._zip is not None

    def names(self) -> list[str]:
        return [m.name for m in self.members]

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()


def _member_opener(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Callable[[], IO[bytes]]:
    return lambda: archive.open(info)


def basename(name: str) -> str:
    return name.rsplit("/", 1)[-1]


# -- building lines ------------------------------------------------------------------------


class Numbering:
    """Line numbers across every file of one import (the summary's and the report's), and the
    profile the rows' events belong to."""

    def __init__(self, profile: str = "default") -> None:
        self.number = 0
        self.profile = profile

    def next(self) -> int:
        self.number += 1
        return self.number


def event_line(
    numbering: Numbering,
    member: str,
    row: int,
    raw: Any,
    fields: dict[str, Any],
    text: str | None = None,
) -> FileLine:
    """Validate `fields` as a playback event (the stdin contract); a refusal is unreadable."""
    number = numbering.next()
    fields["profile"] = numbering.profile
    try:
        event = Event.model_validate(fields)
    except EventError as exc:
        return FileLine(number, None, str(exc), member, row, raw, text=text)
    return FileLine(number, event, None, member, row, raw, text=text)


def skipped(
    numbering: Numbering,
    member: str,
    row: int,
    raw: Any,
    reason: str,
    text: str | None = None,
    /,
    **extra: Any,
) -> FileLine:
    """A row the format does not import; `extra` goes into its report line as it is."""
    return FileLine(numbering.next(), None, None, member, row, raw, reason, extra or None, text)


def unreadable(
    numbering: Numbering, member: str, row: int, raw: Any, reason: str, text: str | None = None
) -> FileLine:
    return FileLine(numbering.next(), None, reason, member, row, raw, text=text)


# -- streaming JSON ------------------------------------------------------------------------


class JsonError(ValueError):
    pass


class _JsonStream:
    """Incremental reading of one JSON document: values are decoded one at a time with the C
    decoder, from a buffer that never holds much more than the value being read."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._reader = codecs.getincrementaldecoder("utf-8-sig")()
        self._stream = stream
        self._buf = ""
        self._pos = 0
        self._eof = False
        self._decoder = json.JSONDecoder()

    def _fill(self) -> bool:
        if self._eof:
            return False
        data = self._stream.read(CHUNK)
        if not data:
            self._eof = True
            self._buf = self._buf[self._pos :] + self._reader.decode(b"", final=True)
        else:
            self._buf = self._buf[self._pos :] + self._reader.decode(data)
        self._pos = 0
        return True

    def peek(self) -> str:
        """The next character that is not white space ("" at the end)."""
        while True:
            buf, pos = self._buf, self._pos
            while pos < len(buf) and buf[pos] in " \t\r\n":
                pos += 1
            self._pos = pos
            if pos < len(buf):
                return buf[pos]
            if not self._fill():
                return ""

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise JsonError(f"expected {char!r}")
        self._pos += 1

    def value(self) -> Any:
        return self.value_and_text()[0]

    def more(self, close: str, between: str) -> bool:
        """After an element: True past its `,`, False at `close`; anything else is an error."""
        char = self.peek()
        if char == ",":
            self.expect(",")
            return True
        if char == close:
            return False
        raise JsonError(f"expected ',' or '{close}' between {between}")

    def value_and_text(self) -> tuple[Any, str]:
        """The next value, and its JSON text as the file has it (on one line)."""
        self.peek()
        while True:
            try:
                value, end = self._decoder.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                if len(self._buf) - self._pos > MAX_ROW_BYTES or not self._fill():
                    raise JsonError(f"not valid JSON ({exc.msg})") from None
                continue
            if end == len(self._buf) and not self._eof and self._buf[self._pos] not in '{["':
                # A number may go on in the next chunk.
                self._fill()
                continue
            text = self._buf[self._pos : end]
            self._pos = end
            if "\n" in text or "\r" in text:  # only white space between tokens can be
                text = text.replace("\r", " ").replace("\n", " ")
            return value, text


def json_array(stream: IO[bytes]) -> Iterator[tuple[Any, str]]:
    """The elements of a top-level JSON array, one at a time (flat memory on any size), each
    with its JSON text."""
    js = _JsonStream(stream)
    js.expect("[")
    if js.peek() == "]":
        return
    while True:
        yield js.value_and_text()
        if not js.more("]", "array elements"):
            return


def json_object_arrays(stream: IO[bytes]) -> Iterator[tuple[str, Any]]:
    """(key, element) for each element of the arrays that are a top-level object's values;
    a value that is not an array comes as (key, value) once."""
    js = _JsonStream(stream)
    js.expect("{")
    if js.peek() == "}":
        return
    while True:
        key = js.value()
        js.expect(":")
        if js.peek() == "[":
            js.expect("[")
            if js.peek() != "]":
                while True:
                    yield key, js.value()
                    if js.peek() != ",":
                        break
                    js.expect(",")
            js.expect("]")
        else:
            yield key, js.value()
        if not js.more("}", "members"):
            return


def json_lines(stream: IO[bytes]) -> Iterator[tuple[int, Any, str | None]]:
    """(line number, value or the raw text, error) for each non-blank line of JSON Lines."""
    for number, raw in enumerate(stream, start=1):
        if not raw.strip():
            continue
        try:
            yield number, json.loads(raw), None
        except (ValueError, UnicodeDecodeError) as exc:
            yield number, raw.decode("utf-8", "replace")[:200], f"not valid JSON ({exc})"


def csv_rows(stream: IO[bytes]) -> Iterator[list[str]]:
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    yield from csv.reader(text)


# -- values ----------------------------------------------------------------------------------

NOON = 12 * 3600  # a date without a time is taken as 12:00 UTC (as CrossWatch does)


def iso_utc(text: str) -> int:
    """An ISO-8601 time; one without an offset is UTC (exports write UTC; never local time)."""
    if not isinstance(text, str):
        raise ValueError("a time must be ISO-8601 text")
    parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())


def date_noon(text: str) -> int:
    """`YYYY-MM-DD` as 12:00 UTC that day."""
    if not isinstance(text, str):
        raise ValueError("a date must be YYYY-MM-DD text")
    day = datetime.strptime(text.strip(), "%Y-%m-%d").replace(tzinfo=UTC)
    return int(day.timestamp()) + NOON


def text_or_none(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def already_counted(_event: Event) -> str | None:
    """A row of a service's own history is a play that service already counted."""
    return None


VIDEO_ID_KEYS = ("tmdb", "imdb", "tvdb", "trakt", "simkl")


def clean_ids(ids: Any) -> dict[str, Any]:
    """The video ids of an export's `ids` object that mean something: numbers written as text
    become numbers, empty and null values are dropped, other keys (slug, plex...) ignored."""
    if not isinstance(ids, dict):
        return {}
    found: dict[str, Any] = {}
    for key in VIDEO_ID_KEYS:
        value = ids.get(key)
        if isinstance(value, str):
            value = value.strip()
            if key != "imdb" and value.isdigit():
                value = int(value)
        if value not in (None, "", 0) and not isinstance(value, bool | dict | list):
            found[key] = value
    return found
