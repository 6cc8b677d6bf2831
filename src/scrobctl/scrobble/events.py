"""The stdin event contract (DESIGN.md "Playback event contract"): one checked, frozen `Event`
per record.

Each line is validated on its own, so one bad line never stops the good ones. The checks are
written here rather than declared for pydantic (issue #25): importing pydantic and building this
model's schema cost more than `import typer`, on every piped event, for a dozen flat fields.
They keep the lax conversions and the error text pydantic 2 gave for this model (`"603"` is the
id 603; `ids.tmdb: Input should be a valid integer, ...`), which scripts and people read.
"""

from __future__ import annotations

import json
import math
import re
import select
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO, ClassVar, Literal, cast

from scrobctl.store.names import VIDEO_IDS

# What plays (track, podcast, movie, episode) and, rated but never played, a whole show or
# season (Trakt, IMDb and Simkl rate them; issue 20).
EventType = Literal["track", "podcast", "movie", "episode", "show", "season"]
MAX_LINE_BYTES = 1 << 20
# Nothing plays for longer than 30 days; larger values are typos or unit mistakes.
MAX_DURATION_MS = 30 * 86_400_000
EARLIEST = 0  # 1970: anything earlier is not a Unix time anyone means
LATEST = 253_402_300_799  # 9999-12-31
PROFILE_PATTERN = "^[A-Za-z0-9_.-]{1,64}$"
_PROFILE = re.compile(PROFILE_PATTERN)
_INT64 = 2**63
_MISSING = object()


class EventError(ValueError):
    """Why a record is not an event: `where: message` (`ids.tmdb: ...`), or the message alone
    when the record as a whole is wrong."""

    def __init__(self, message: str, where: tuple[str, ...] = ()) -> None:
        super().__init__(f"{'.'.join(where)}: {message}" if where else message)


class _Bad(Exception):
    """One value's problem; `where` is its path inside the value (for nested records)."""

    def __init__(self, message: str, where: tuple[str, ...] = ()) -> None:
        self.message = message
        self.where = where


def _unix_seconds(value: Any) -> int:
    """ISO-8601 with an offset, or Unix seconds. Naive times are refused: they are ambiguous."""
    if isinstance(value, bool):
        raise _Bad("must be an ISO-8601 time with offset or Unix seconds")
    if isinstance(value, int | float):
        if not math.isfinite(value) or not EARLIEST <= value <= LATEST:
            raise _Bad("is not a plausible Unix time in seconds")
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise _Bad("is not an ISO-8601 time") from None
        if parsed.tzinfo is None:
            raise _Bad("needs a UTC offset (e.g. 2026-11-23T20:15:00Z)")
        seconds = parsed.timestamp()
        if not EARLIEST <= seconds <= LATEST:
            raise _Bad("is before 1970")
        return int(seconds)
    raise _Bad("must be an ISO-8601 time with offset or Unix seconds")


# -- one value: pydantic 2's lax conversions and messages -------------------------------------


def _integer(value: Any) -> int:
    """An int as pydantic's lax mode takes one: true/false, a float with no fraction, or a
    string of digits (`" 5 "`, `"6_03"`, `"5.0"`)."""
    if type(value) is int:
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _Bad("Input should be a finite number")
        if not value.is_integer():
            raise _Bad("Input should be a valid integer, got a number with a fractional part")
        if not -_INT64 < value < _INT64:
            raise _Bad("Unable to parse input string as an integer, exceeded maximum size")
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        whole, dot, fraction = text.partition(".")
        no_fraction = not dot or (fraction and not fraction.strip("0"))  # "5" or "5.00"
        if text.isascii() and whole[-1:].isdigit() and no_fraction:
            try:
                return int(whole)
            except ValueError:
                pass
        raise _Bad("Input should be a valid integer, unable to parse string as an integer")
    if isinstance(value, int):  # bool
        return int(value)
    raise _Bad("Input should be a valid integer")


def _number(value: Any) -> float:
    """A finite float: a number, or a string of one."""
    if isinstance(value, str):
        text = value.strip()
        try:
            if not text.isascii():  # float() reads other scripts' digits; pydantic did not
                raise ValueError(text)
            number = float(text)
        except ValueError:
            raise _Bad(
                "Input should be a valid number, unable to parse string as a number"
            ) from None
    elif isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:
            raise _Bad("Input should be a finite number") from None
    else:
        raise _Bad("Input should be a valid number")
    if not math.isfinite(number):
        raise _Bad("Input should be a finite number")
    return number


def _not_bool(value: Any) -> None:
    """JSON `true` is not a number, whatever Python thinks."""
    if isinstance(value, bool):
        raise _Bad("must be a number, not true/false")


def _within(number: float, low: float, high: float, *, above: bool = False) -> None:
    """low <= number <= high (low < number with `above`)."""
    if above:
        if not number > low:
            raise _Bad(f"Input should be greater than {low}")
    elif not number >= low:
        raise _Bad(f"Input should be greater than or equal to {low}")
    if not number <= high:
        raise _Bad(f"Input should be less than or equal to {high}")


def _count(low: int, high: int, *, above: bool = False, strict: bool = False) -> Any:
    """An optional int in [low, high] ((low, high] `above`); `strict`: never true/false."""

    def check(value: Any) -> int | None:
        if type(value) is int and (value > low if above else value >= low) and value <= high:
            return value  # the usual case, checked first
        if value is None:
            return None
        if strict:
            _not_bool(value)
        number = _integer(value)
        _within(number, low, high, above=above)
        return number

    return check


def _share(low: int, high: int) -> Any:
    """An optional finite float in [low, high], never true/false."""

    def check(value: Any) -> float | None:
        if value is None:
            return None
        _not_bool(value)
        number = _number(value)
        _within(number, low, high)
        return number

    return check


def _id(value: Any) -> int | None:
    """A numeric id (TMDb, TVDB, Trakt, Simkl): positive, and fits SQLite's integer."""
    if value is None:
        return None
    number = _integer(value)
    if not number > 0:
        raise _Bad("Input should be greater than 0")
    if not number < _INT64:
        raise _Bad(f"Input should be less than {_INT64}")
    return number


def _text(value: Any) -> str | None:
    """A name, stripped. An empty or blank one is no value: a player hook without an album tag
    sends `"album": ""`, and ListenBrainz drops such a field too (api_tools.py
    validate_basic_metadata). No length limit here: a limit of one service (ListenBrainz's
    bytes a listen) is that service's sender's to apply, as a rejection for that target only;
    the 1 MiB line bounds the rest."""
    if type(value) is str:
        return value.strip() or None
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Bad("Input should be a valid string")
    return value.strip() or None


def _short_text(value: Any) -> str | None:
    """An id written as text (IMDb, MBID, ISRC): at most 64 characters."""
    text = _text(value)
    if text is not None and len(text) > 64:
        raise _Bad("String should have at most 64 characters")
    return text


def _one_of(*names: str) -> Any:
    quoted = [repr(name) for name in names]
    message = f"Input should be {', '.join(quoted[:-1])} or {quoted[-1]}"
    canonical = {name: name for name in names}

    def check(value: Any) -> str:
        found = canonical.get(value) if isinstance(value, str) else None
        if found is None:
            raise _Bad(message)
        return found

    return check


def _profile(value: Any) -> str:
    if not isinstance(value, str):
        raise _Bad("Input should be a valid string")
    if value != "default" and _PROFILE.fullmatch(value) is None:
        raise _Bad(f"String should match pattern '{PROFILE_PATTERN}'")
    return str(value)


def _optional_time(value: Any) -> int | None:
    return None if value is None else _unix_seconds(value)


# -- records ----------------------------------------------------------------------------------

Check = Callable[[Any], Any]


class _Record:
    """A frozen record whose fields are checked in declaration order; the first bad value
    refuses the whole record (pydantic reported that one first). Unknown keys are ignored.
    `Event.model_validate(mapping)` and `Event(**fields)` both check."""

    __slots__ = ("__dict__",)
    # (name, check, default); _MISSING as the default makes the field required. A nested
    # record's check differs for JSON input only in its message, hence two tables.
    _fields: ClassVar[tuple[tuple[str, Check, Any], ...]] = ()
    _json_fields: ClassVar[tuple[tuple[str, Check, Any], ...]] = ()
    _names: ClassVar[tuple[str, ...]]
    _defaults: ClassVar[dict[str, Any]]
    _required: ClassVar[tuple[str, ...]]
    _checks: ClassVar[dict[str, Check]]
    _json_checks: ClassVar[dict[str, Check]]

    def __init_subclass__(cls) -> None:
        cls._names = tuple(name for name, _, _ in cls._fields)
        cls._defaults = {name: default for name, _, default in cls._fields}
        cls._required = tuple(name for name, _, default in cls._fields if default is _MISSING)
        cls._checks = {name: check for name, check, _ in cls._fields}
        cls._json_checks = {name: check for name, check, _ in cls._json_fields}

    def __init__(self, **fields: Any) -> None:
        object.__setattr__(self, "__dict__", _or_error(type(self)._values, fields, False))

    @classmethod
    def model_validate(cls, obj: Any) -> Any:
        """The record of a mapping, or EventError."""
        if isinstance(obj, cls):
            return obj
        if not isinstance(obj, dict):
            raise EventError(f"Input should be a valid dictionary or instance of {cls.__name__}")
        return cls._make(_or_error(cls._values, obj, False))

    @classmethod
    def _make(cls, values: dict[str, Any]) -> Any:
        record = object.__new__(cls)
        object.__setattr__(record, "__dict__", values)
        return record

    @classmethod
    def _values(cls, obj: dict[str, Any], from_json: bool) -> dict[str, Any]:
        """The checked fields, in declaration order. Checked key by key (an event has fewer
        keys than fields); at the first problem they are checked again in order, to name
        the first bad field as pydantic did."""
        checks = cls._json_checks if from_json else cls._checks
        values = cls._defaults.copy()
        try:
            for name, value in obj.items():
                check = checks.get(name)
                if check is not None:
                    values[name] = check(value)
        except _Bad:
            cls._first_problem(obj, checks)
        for name in cls._required:
            if values[name] is _MISSING:
                cls._first_problem(obj, checks)
        cls._whole(values)
        return values

    @classmethod
    def _first_problem(cls, obj: dict[str, Any], checks: dict[str, Check]) -> None:
        """Raise the problem of the first bad field, in declaration order."""
        for name in cls._names:
            if name not in obj:
                if cls._defaults[name] is _MISSING:
                    raise _Bad("Field required", (name,))
                continue
            try:
                checks[name](obj[name])
            except _Bad as bad:
                raise _Bad(bad.message, (name, *bad.where)) from None
        raise AssertionError("no problem found")  # pragma: no cover

    @classmethod
    def _whole(cls, values: dict[str, Any]) -> None:
        """Checks of the record as a whole, once every field is valid (raise _Bad)."""

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: cannot delete {name!r}")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        return hash((type(self), *map(self.__dict__.__getitem__, self._names)))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={value!r}" for name, value in self.__dict__.items())
        return f"{type(self).__name__}({fields})"


def _or_error(
    values: Callable[[dict[str, Any], bool], dict[str, Any]], obj: dict[str, Any], from_json: bool
) -> dict[str, Any]:
    try:
        return values(obj, from_json)
    except _Bad as bad:
        raise EventError(bad.message, bad.where) from None


def _nested(model: type[_Record], *, optional: bool, from_json: bool) -> Check:
    """A field holding another record: a JSON object, or from Python a dict or a record."""
    if from_json:
        wrong = "Input should be an object"
    else:
        wrong = f"Input should be a valid dictionary or instance of {model.__name__}"

    def check(value: Any) -> Any:
        if value is None and optional:
            return None
        if isinstance(value, dict):
            return model._make(model._values(value, from_json))
        if isinstance(value, model) and not from_json:
            return value
        raise _Bad(wrong)

    return check


class Ids(_Record):
    tmdb: int | None
    imdb: str | None
    tvdb: int | None
    trakt: int | None
    simkl: int | None
    mbid: str | None
    isrc: str | None

    _fields = _json_fields = (
        ("tmdb", _id, None),
        ("imdb", _short_text, None),
        ("tvdb", _id, None),
        ("trakt", _id, None),
        ("simkl", _id, None),
        ("mbid", _short_text, None),
        ("isrc", _short_text, None),
    )

    def video(self) -> dict[str, int | str]:
        """The video ids given, in the store's order (strongest first)."""
        return {k: v for k in VIDEO_IDS if (v := getattr(self, k)) is not None}


NO_IDS = Ids()
_YEAR = _count(1870, 9999)


class Show(_Record):
    title: str | None
    year: int | None
    ids: Ids

    _fields = (
        ("title", _text, None),
        ("year", _YEAR, None),
        ("ids", _nested(Ids, optional=False, from_json=False), NO_IDS),
    )
    _json_fields = (*_fields[:2], ("ids", _nested(Ids, optional=False, from_json=True), NO_IDS))


def _event_fields(from_json: bool) -> tuple[tuple[str, Check, Any], ...]:
    return (
        ("type", _one_of("track", "podcast", "movie", "episode", "show", "season"), _MISSING),
        ("event", _one_of("start", "pause", "stop"), "stop"),
        ("profile", _profile, "default"),
        ("title", _text, None),
        ("artist", _text, None),
        ("album", _text, None),
        ("year", _YEAR, None),
        ("show", _nested(Show, optional=True, from_json=from_json), None),
        ("season", _count(0, 100_000), None),
        ("number", _count(0, 1_000_000), None),
        ("duration_ms", _count(0, MAX_DURATION_MS, above=True, strict=True), None),
        ("watched_ms", _count(0, MAX_DURATION_MS, strict=True), None),
        ("percentage", _share(0, 100), None),
        ("watched_at", _optional_time, None),
        ("ids", _nested(Ids, optional=False, from_json=from_json), NO_IDS),
        ("rating", _share(1, 10), None),
    )


class Event(_Record):
    """One playback event (or a rating) of the stdin contract."""

    type: EventType
    event: Literal["start", "pause", "stop"]
    profile: str
    title: str | None
    artist: str | None
    album: str | None
    year: int | None
    show: Show | None
    season: int | None
    number: int | None
    duration_ms: int | None
    watched_ms: int | None
    percentage: float | None
    watched_at: int | None
    ids: Ids
    rating: float | None

    _fields = _event_fields(from_json=False)
    _json_fields = _event_fields(from_json=True)

    @classmethod
    def model_validate_json(cls, text: str | bytes) -> Event:
        """The event of one JSON object's text, or EventError."""
        if not isinstance(text, str):
            text = text.decode("utf-8")
        try:
            body = text.strip()
            obj, end = _decode(body)
            if end != len(body):
                raise json.JSONDecodeError("Extra data", body, end)  # as json.loads says it
        except json.JSONDecodeError as exc:
            raise EventError(f"Invalid JSON: {exc}") from None
        except RecursionError:
            raise EventError("Invalid JSON: nested too deeply") from None
        if not isinstance(obj, dict):
            raise EventError("Input should be an object")
        if "\\u" in text:
            _refuse_lone_surrogates(obj)
        return cls._make(_or_error(cls._values, obj, True))

    @classmethod
    def _whole(cls, values: dict[str, Any]) -> None:
        kind = values["type"]
        ids: Ids = values["ids"]
        show: Show | None = values["show"]
        if kind in ("track", "podcast"):
            if not values["title"] or not values["artist"]:
                raise _Bad(f"a {kind} needs 'title' and 'artist'")
        elif kind == "movie":
            if not ids.video():
                raise _Bad("a movie needs an id in 'ids' (tmdb, imdb, tvdb, trakt or simkl)")
        elif kind in ("show", "season"):
            if (
                values["rating"] is None
                or values["percentage"] is not None
                or values["watched_ms"] is not None
            ):
                raise _Bad(f"a {kind} is rated, not played: it needs 'rating' only")
            by_show = show is not None and bool(show.ids.video())
            if kind == "show" and not ids.video():
                raise _Bad("a show needs an id in 'ids' (tmdb, imdb, tvdb, trakt or simkl)")
            if (
                kind == "season"
                and not ids.video()
                and not (by_show and values["season"] is not None)
            ):
                raise _Bad("a season needs season ids, or 'show.ids' with 'season'")
        else:
            by_show = show is not None and bool(show.ids.video())
            if not ids.video() and not (
                by_show and values["season"] is not None and values["number"] is not None
            ):
                raise _Bad("an episode needs episode ids, or 'show.ids' with 'season' and 'number'")

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
            share = self.watched_ms * 100 / self.duration_ms
            return share if share < 100.0 else 100.0  # min(), without its call: once a line
        return None


# json.loads's decoder without its wrappers: a big input decodes 100,000 lines.
_decode = json.JSONDecoder().raw_decode


def _refuse_lone_surrogates(value: Any) -> None:
    """A `\\ud800` escape decodes to a string no UTF-8 file or SQLite can hold: the line is
    refused whole, as a JSON error (wherever the string is, unknown keys too)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise EventError("Invalid JSON: a lone surrogate escape in a string") from None


@dataclass(frozen=True, slots=True)
class Line:
    """One input record: its line number (array position) and an event, or why it failed."""

    number: int
    event: Event | None
    error: str | None = None


def parse_one(raw: bytes | str, number: int) -> Line:
    try:
        return Line(number, Event.model_validate_json(raw))
    except EventError as exc:
        return Line(number, None, str(exc))


def _parse_object(obj: Any, number: int) -> Line:
    if not isinstance(obj, dict):
        return Line(number, None, "each event must be a JSON object")
    try:
        return Line(number, Event.model_validate(obj))
    except EventError as exc:
        return Line(number, None, str(exc))


WHITESPACE = (b" ", b"\t", b"\r", b"\n")


class Pause:
    """Where no more input is waiting: what came before may be all for a while (a pipe that
    trickles), so an ingest commits it instead of waiting with it (issue #25)."""

    def __repr__(self) -> str:
        return "PAUSE"


PAUSE = Pause()


def read_events(stream: BinaryIO) -> Iterator[Line]:
    """Events from JSON Lines, or from one JSON array of objects (numbered by position).

    An array is an input whose first non-blank byte is `[` followed by `{` or `]`: a log line
    such as `[INFO] player started` is a bad first line, not an array that would swallow the
    valid lines after it."""
    return cast(Iterator[Line], _events(stream, pauses=False))  # no PAUSE unless asked


def read_events_and_pauses(stream: BinaryIO) -> Iterator[Line | Pause]:
    """The same, with PAUSE before each read that would wait for more input."""
    return _events(stream, pauses=True)


def _events(stream: BinaryIO, *, pauses: bool) -> Iterator[Line | Pause]:
    reader = _Reader(stream)
    head = _skip_blank(reader)
    if head[-1:] == b"[":
        head += _skip_blank(reader)
        word, read = _word(reader, head[-1:])
        head += read
        if word is None or word in JSON_WORDS:
            yield from _read_array(head.lstrip() + reader.read())
            return
    reader.unread(head)
    yield from _read_lines(reader, pauses)


# Words that may follow `[` in JSON (NaN and Infinity are refused later, as an array's error).
JSON_WORDS = (b"true", b"false", b"null", b"NaN", b"Infinity")


def _word(stream: _Reader, first: bytes) -> tuple[bytes | None, bytes]:
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


def _skip_blank(stream: _Reader) -> bytes:
    """The bytes up to and including the first non-blank one (or all, at the end)."""
    seen = b""
    while True:
        byte = stream.read(1)
        seen += byte
        if byte not in WHITESPACE or not byte:
            return seen


def _read_lines(reader: _Reader, pauses: bool) -> Iterator[Line | Pause]:
    """JSON Lines, each read with a bound: a line past MAX_LINE_BYTES is refused once that
    many bytes have arrived, and the rest of it is skipped without being kept. With `pauses`,
    PAUSE comes before a read that would wait for input."""
    number = 0
    while True:
        if pauses and not reader.ready():
            yield PAUSE
        raw = reader.line(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            reader.skip_line()
        yield from _line(raw, number)


class _Reader:
    """Lines of a stream through a buffer of our own, so that it knows when the next line is
    not there yet: then its buffer holds no whole line and the file has nothing to read."""

    CHUNK = 1 << 16

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._read = getattr(stream, "read1", stream.read)  # read1: what has arrived, at most
        self._buffer = b""
        self._at = 0
        try:
            self._fd: int | None = stream.fileno()
        except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError
            self._fd = None  # in memory: all of it is there

    def ready(self) -> bool:
        """A line (or the end) can be read without waiting."""
        if self._buffer.find(b"\n", self._at) >= 0 or self._fd is None:
            return True
        try:
            readable, _, _ = select.select([self._fd], [], [], 0)
        except (OSError, ValueError):
            return True  # a stream select cannot watch: reading is all there is
        return bool(readable)

    def line(self, limit: int) -> bytes:
        """The next line with its newline, at most `limit` bytes of it; b"" at the end."""
        while True:
            buffer, at = self._buffer, self._at
            end = buffer.find(b"\n", at, at + limit) + 1
            if not end and len(buffer) - at >= limit:
                end = at + limit
            if end:
                self._at = end
                return buffer[at:end]
            more = self._read(self.CHUNK)
            if not more:
                self._buffer, self._at = b"", 0
                return buffer[at:]
            self._buffer, self._at = buffer[at:] + more, 0

    def read(self, size: int = -1) -> bytes:
        """As a stream reads: `size` bytes (fewer at the end), or all that is left."""
        if size < 0:
            rest = self._buffer[self._at :] + self._stream.read()
            self._buffer, self._at = b"", 0
            return rest
        while len(self._buffer) - self._at < size:
            more = self._read(self.CHUNK)
            if not more:
                break
            self._buffer, self._at = self._buffer[self._at :] + more, 0
        data = self._buffer[self._at : self._at + size]
        self._at += len(data)
        return data

    def unread(self, data: bytes) -> None:
        self._buffer, self._at = data + self._buffer[self._at :], 0

    def skip_line(self) -> None:
        """Drop the rest of the current line, keeping no more than a chunk of it."""
        while True:
            end = self._buffer.find(b"\n", self._at)
            if end >= 0:
                self._at = end + 1
                return
            self._buffer, self._at = self._read(self.CHUNK), 0
            if not self._buffer:
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
