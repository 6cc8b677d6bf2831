"""The stdin event contract (DESIGN.md "Playback event contract") as pydantic models.

Each line is validated on its own, so one bad line never stops the good ones.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, BinaryIO, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from scrobctl.store.names import VIDEO_IDS

# What plays (track, podcast, movie, episode) and, rated but never played, a whole show or
# season (Trakt, IMDb and Simkl rate them; issue 20).
EventType = Literal["track", "podcast", "movie", "episode", "show", "season"]
MAX_LINE_BYTES = 1 << 20
# Nothing plays for longer than 30 days; larger values are typos or unit mistakes.
MAX_DURATION_MS = 30 * 86_400_000
EARLIEST = 0  # 1970: anything earlier is not a Unix time anyone means
LATEST = 253_402_300_799  # 9999-12-31


def _unix_seconds(value: Any) -> int:
    """ISO-8601 with an offset, or Unix seconds. Naive times are refused: they are ambiguous."""
    if isinstance(value, bool):
        raise ValueError("must be an ISO-8601 time with offset or Unix seconds")
    if isinstance(value, int | float):
        if not math.isfinite(value) or not EARLIEST <= value <= LATEST:
            raise ValueError("is not a plausible Unix time in seconds")
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise ValueError("is not an ISO-8601 time") from None
        if parsed.tzinfo is None:
            raise ValueError("needs a UTC offset (e.g. 2026-11-23T20:15:00Z)")
        seconds = parsed.timestamp()
        if not EARLIEST <= seconds <= LATEST:
            raise ValueError("is before 1970")
        return int(seconds)
    raise ValueError("must be an ISO-8601 time with offset or Unix seconds")


def _not_bool(value: Any) -> Any:
    """JSON `true` is not a number, whatever Python thinks."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not true/false")
    return value


UnixSeconds = Annotated[int, BeforeValidator(_unix_seconds)]
NotBool = BeforeValidator(_not_bool)


def _blank_is_absent(value: Any) -> Any:
    """An empty or blank optional string is no value: a player hook without an album tag sends
    `"album": ""`, and ListenBrainz drops such a field too (api_tools.py
    validate_basic_metadata)."""
    if isinstance(value, str) and not value.strip():
        return None
    return value


# No length limit here: a limit of one service (ListenBrainz's bytes a listen) is that service's
# sender's to apply, as a rejection for that target only; the 1 MiB line bounds the rest.
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
PositiveId = Annotated[int, Field(gt=0, lt=2**63)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Blank = BeforeValidator(_blank_is_absent)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False, frozen=True)


class Ids(_Model):
    tmdb: PositiveId | None = None
    imdb: Annotated[ShortText | None, Blank] = None
    tvdb: PositiveId | None = None
    trakt: PositiveId | None = None
    simkl: PositiveId | None = None
    mbid: Annotated[ShortText | None, Blank] = None
    isrc: Annotated[ShortText | None, Blank] = None

    def video(self) -> dict[str, int | str]:
        """The video ids given, in the store's order (strongest first)."""
        return {k: v for k in VIDEO_IDS if (v := getattr(self, k)) is not None}


class Show(_Model):
    title: Annotated[Text | None, Blank] = None
    year: Annotated[int, Field(ge=1870, le=9999)] | None = None
    ids: Ids = Ids()


class Event(_Model):
    type: EventType
    event: Literal["start", "pause", "stop"] = "stop"
    profile: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")] = "default"
    title: Annotated[Text | None, Blank] = None
    artist: Annotated[Text | None, Blank] = None
    album: Annotated[Text | None, Blank] = None
    year: Annotated[int, Field(ge=1870, le=9999)] | None = None
    show: Show | None = None
    season: Annotated[int, Field(ge=0, le=100_000)] | None = None
    number: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    duration_ms: Annotated[int, Field(gt=0, le=MAX_DURATION_MS), NotBool] | None = None
    watched_ms: Annotated[int, Field(ge=0, le=MAX_DURATION_MS), NotBool] | None = None
    percentage: Annotated[float, Field(ge=0, le=100), NotBool] | None = None
    watched_at: UnixSeconds | None = None
    ids: Ids = Ids()
    rating: Annotated[float, Field(ge=1, le=10), NotBool] | None = None

    @model_validator(mode="after")
    def _identifiable(self) -> Event:
        if self.type in ("track", "podcast"):
            if not self.title or not self.artist:
                raise ValueError(f"a {self.type} needs 'title' and 'artist'")
        elif self.type == "movie":
            if not self.ids.video():
                raise ValueError("a movie needs an id in 'ids' (tmdb, imdb, tvdb, trakt or simkl)")
        elif self.type in ("show", "season"):
            if self.rating is None or self.percentage is not None or self.watched_ms is not None:
                raise ValueError(f"a {self.type} is rated, not played: it needs 'rating' only")
            by_show = self.show is not None and bool(self.show.ids.video())
            if self.type == "show" and not self.ids.video():
                raise ValueError("a show needs an id in 'ids' (tmdb, imdb, tvdb, trakt or simkl)")
            if (
                self.type == "season"
                and not self.ids.video()
                and not (by_show and self.season is not None)
            ):
                raise ValueError("a season needs season ids, or 'show.ids' with 'season'")
        else:
            by_show = self.show is not None and bool(self.show.ids.video())
            if not self.ids.video() and not (
                by_show and self.season is not None and self.number is not None
            ):
                raise ValueError(
                    "an episode needs episode ids, or 'show.ids' with 'season' and 'number'"
                )
        return self

    def played_ms(self) -> int | None:
        """How much was played: given, or derived from percentage and duration."""
        if self.watched_ms is not None:
            return self.watched_ms
        if self.percentage is not None and self.duration_ms is not None:
            return round(self.duration_ms * self.percentage / 100)
        return None

    def played_percentage(self) -> float | None:
        if self.percentage is not None:
            return self.percentage
        if self.watched_ms is not None and self.duration_ms:
            return min(100.0, self.watched_ms * 100 / self.duration_ms)
        return None


@dataclass(frozen=True, slots=True)
class Line:
    """One input record: its line number (array position) and an event, or why it failed."""

    number: int
    event: Event | None
    error: str | None = None


def _reason(exc: ValidationError) -> str:
    first = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def parse_one(raw: bytes | str, number: int) -> Line:
    try:
        return Line(number, Event.model_validate_json(raw))
    except ValidationError as exc:
        return Line(number, None, _reason(exc))


def _parse_object(obj: Any, number: int) -> Line:
    if not isinstance(obj, dict):
        return Line(number, None, "each event must be a JSON object")
    try:
        return Line(number, Event.model_validate(obj))
    except ValidationError as exc:
        return Line(number, None, _reason(exc))


WHITESPACE = (b" ", b"\t", b"\r", b"\n")


def read_events(stream: BinaryIO) -> Iterator[Line]:
    """Events from JSON Lines, or from one JSON array of objects (numbered by position).

    An array is an input whose first non-blank byte is `[` followed by `{` or `]`: a log line
    such as `[INFO] player started` is a bad first line, not an array that would swallow the
    valid lines after it."""
    head = _skip_blank(stream)
    if head[-1:] == b"[":
        head += _skip_blank(stream)
        word, read = _word(stream, head[-1:])
        head += read
        if word is None or word in JSON_WORDS:
            yield from _read_array(head.lstrip() + stream.read())
            return
    yield from _read_lines(head, stream)


# Words that may follow `[` in JSON (NaN and Infinity are refused later, as an array's error).
JSON_WORDS = (b"true", b"false", b"null", b"NaN", b"Infinity")


def _word(stream: BinaryIO, first: bytes) -> tuple[bytes | None, bytes]:
    """The run of letters starting with `first`, and the bytes read after `first` to find its
    end; no word when `first` is not a letter. `[INFO]` is a log line, `[true` or `[{` an array."""
    if not (first.isascii() and first.isalpha()):
        return None, b""
    word = first
    while True:
        byte = stream.read(1)
        if not byte or not (byte.isascii() and byte.isalpha()):
            return word, word[1:] + byte
        word += byte


def _skip_blank(stream: BinaryIO) -> bytes:
    """The bytes up to and including the first non-blank one (or all, at the end)."""
    seen = b""
    while True:
        byte = stream.read(1)
        seen += byte
        if byte not in WHITESPACE or not byte:
            return seen


def _read_lines(head: bytes, stream: BinaryIO) -> Iterator[Line]:
    """JSON Lines, each read with a bound: a line past MAX_LINE_BYTES is refused once that
    many bytes have arrived, and the rest of it is skipped without being kept."""
    *complete, pending = head.split(b"\n")
    number = 0
    for raw in complete:
        number += 1
        yield from _line(raw + b"\n", number)
    while True:
        raw = pending + stream.readline(max(1, MAX_LINE_BYTES + 1 - len(pending)))
        pending = b""
        if not raw:
            return
        number += 1
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            _skip_line(stream)
        yield from _line(raw, number)


def _skip_line(stream: BinaryIO) -> None:
    while True:
        chunk = stream.readline(1 << 16)
        if not chunk or chunk.endswith(b"\n"):
            return


def _line(raw: bytes, number: int) -> Iterator[Line]:
    if len(raw) > MAX_LINE_BYTES:
        yield Line(number, None, f"line longer than {MAX_LINE_BYTES} bytes")
        return
    if not raw.strip():
        return
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        yield Line(number, None, "not valid UTF-8")
        return
    if text.lstrip().startswith("{"):
        yield parse_one(text, number)
    else:
        yield Line(number, None, "not a JSON object")


def _read_array(data: bytes) -> Iterator[Line]:
    try:
        items = json.loads(data, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data" or (exc.lineno == 1 and data.count(b"\n") > 1):
            # An array on the first line of JSON Lines, or a first line that only starts with
            # `[` (`[2026-11-30 12:00] started`): read it all as lines, so the rest count.
            number = 0
            for number, raw in enumerate(data.splitlines(keepends=True), start=1):
                yield from _line(raw, number)
            return
        yield Line(1, None, f"not a valid JSON array ({exc})")
        return
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        yield Line(1, None, f"not a valid JSON array ({reason})")
        return
    if not isinstance(items, list):
        yield Line(1, None, "not a JSON array")
        return
    for index, obj in enumerate(items, start=1):
        yield _parse_object(obj, index)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")
