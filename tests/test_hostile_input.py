"""Hostile stdin for `scrobctl scrobble` (DESIGN.md "Playback event contract"): property tests of
`read_events` + `Ingest`, and a few runs of the installed CLI.

Whatever arrives (arbitrary bytes, lines over 1 MiB, wrong types, NaN/Infinity/negative/enormous
numbers, odd Unicode: escaped lone surrogates, RTL marks, zero-width characters, NUL; deeply
nested JSON; arrays where objects belong; valid and invalid lines mixed) nothing crashes, and
every non-blank line is accounted for exactly once: queued, duplicate, below threshold, recorded
only, not a play, rating only, or invalid (IngestSummary.total). A JSON array as the whole input
is one record per element.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scrobctl.scrobble.enqueue import Ingest, IngestSummary
from scrobctl.scrobble.events import MAX_LINE_BYTES, read_events
from scrobctl.store.db import Store

NOW = 1_795_000_000.0
T = 1_794_000_000  # about eleven days before NOW
ROUTES = {
    "default": {
        "track": ["listenbrainz", "lastfm"],
        "podcast": ["listenbrainz"],
        "movie": ["trakt", "simkl"],
        "episode": ["trakt"],
    }
}  # profile "other" has no routes: its plays are recorded only
HYPOTHESIS = settings(
    max_examples=150,
    deadline=None,
    # One store for all examples: the invariant holds whatever earlier examples left in it.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def ingest(store: Store, data: bytes) -> IngestSummary:
    return Ingest(store, ROUTES, now=NOW).run(read_events(io.BytesIO(data)))


def non_blank_lines(data: bytes) -> int:
    """Lines (split on LF, as a binary stream reads them) with anything but whitespace."""
    return sum(1 for line in data.split(b"\n") if line.strip())


def starts_an_array(data: bytes) -> bool:
    return data.lstrip(b" \t\r\n").startswith(b"[")


def assert_accounted(summary: IngestSummary, records: int) -> None:
    assert summary.total == records, summary
    numbers = [number for number, _ in summary.invalid]
    assert len(numbers) == len(set(numbers)), "a line was reported invalid twice"
    assert all(isinstance(reason, str) and reason for _, reason in summary.invalid)
    assert sum(summary.jobs.values()) >= summary.queued


# -- strategies -----------------------------------------------------------------------------------

ODD_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "\u202eevil RTL override",
            "\u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627",  # Hebrew, Arabic
            "zero\u200bwidth\u200c\u200d\ufeff",
            "nul\u0000in the middle",
            "\u0000",
            "\ud800",  # lone surrogates: escaped by json.dumps, raw bytes below
            "\udfff tail",
            "\U0001f600 emoji",
            "e\u0301 combining",
            " ",
            "",
            "x" * 1025,  # one over the title limit
        ]
    ),
)
HOSTILE_NUMBER = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 10**30, -(10**30), 2**63, 1e308, -0.0, True, False, None]),
    st.sampled_from(["1", "NaN", "Infinity", "", "2026-11-23T20:15:00Z", "yesterday"]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def maybe(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a valid value, often a hostile one."""
    return st.one_of(valid, valid, HOSTILE_NUMBER, ODD_TEXT)


IDS = st.fixed_dictionaries(
    {},
    optional={
        "tmdb": maybe(st.integers(1, 10**6)),
        "imdb": maybe(st.from_regex(r"tt\d{7}", fullmatch=True)),
        "tvdb": maybe(st.integers(1, 10**6)),
        "trakt": maybe(st.integers(1, 10**6)),
        "simkl": maybe(st.integers(1, 10**6)),
        "mbid": maybe(st.uuids().map(str)),
        "isrc": maybe(st.from_regex(r"[A-Z]{2}[A-Z0-9]{3}\d{7}", fullmatch=True)),
    },
)
EVENT = st.fixed_dictionaries(
    {"type": st.one_of(st.sampled_from(["track", "podcast", "movie", "episode"]), ODD_TEXT)},
    optional={
        "event": st.sampled_from(["stop", "stop", "start", "pause", "seek", 3]),
        "profile": st.sampled_from(["default", "default", "other", "no spaces!", "", 7]),
        "title": maybe(st.sampled_from(["Hurt", "The Matrix", "Pilot"])),
        "artist": maybe(st.sampled_from(["Johnny Cash", "Nine Inch Nails"])),
        "album": ODD_TEXT,
        "year": maybe(st.integers(1870, 2030)),
        "duration_ms": maybe(st.integers(1, 10_000_000)),
        "watched_ms": maybe(st.integers(0, 10_000_000)),
        "percentage": maybe(st.floats(0, 100)),
        "watched_at": maybe(
            st.one_of(
                st.integers(T - 86_400, int(NOW) + 600),
                st.sampled_from(["2026-11-01T20:15:00Z", "2026-11-01T20:15:00", "2026-11-01"]),
            )
        ),
        "ids": st.one_of(IDS, IDS, HOSTILE_NUMBER),
        "show": st.one_of(
            st.fixed_dictionaries({"title": ODD_TEXT, "ids": IDS}), HOSTILE_NUMBER, ODD_TEXT
        ),
        "season": maybe(st.integers(0, 30)),
        "number": maybe(st.integers(0, 30)),
        "rating": maybe(st.integers(1, 10)),
        "unknown key": ODD_TEXT,
    },
)


def _encode(value: Any, ascii_only: bool) -> bytes:
    text = json.dumps(value, ensure_ascii=ascii_only)  # NaN/Infinity come out bare, on purpose
    return text.encode("utf-8", "surrogatepass")  # a raw lone surrogate is invalid UTF-8


def _deep(depth: int, inner: str = "1") -> str:
    return '{"type": "track", "nest": ' + "[" * depth + inner + "]" * depth + "}"


NESTED = st.integers(1, 5000).map(lambda d: _deep(d).encode())
LINE = st.one_of(
    st.builds(_encode, EVENT, st.booleans()),
    st.builds(_encode, EVENT, st.booleans()),
    st.builds(_encode, st.lists(EVENT, max_size=2), st.booleans()),  # an array as a later line
    st.builds(_encode, HOSTILE_NUMBER, st.booleans()),  # a JSON scalar
    NESTED,
    st.binary(max_size=60).map(lambda b: b.replace(b"\n", b"")),  # arbitrary bytes
    st.sampled_from(
        [
            b"",
            b"   ",
            b"\t\r",
            b"\x0b\x0c",
            b"{",
            b'{"type": "track",',
            b"null",
            b"{}",
            b"\xef\xbb\xbf{}",  # a byte order mark
            b'{"type": "track"} trailing',
            b'{"type": "track", "type": "movie"}',
            b"\x00\x00\x00",
            b"\xff\xfe{\x00}\x00",
            b'{"type": "track", "title": "a\\u0000b", "artist": "\\ud800"}',
        ]
    ),
)


@st.composite
def jsonl(draw: st.DrawFn) -> bytes:
    """Lines joined by LF (sometimes CRLF, sometimes no final newline), never opening an array."""
    lines = draw(st.lists(LINE, max_size=25))
    sep = draw(st.sampled_from([b"\n", b"\r\n"]))
    data = sep.join(lines) + draw(st.sampled_from([b"", sep]))
    if starts_an_array(data):
        data = b"{}\n" + data
    return data


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def db(store: Store) -> Iterator[Store]:
    yield store


# -- JSON Lines -------------------------------------------------------------------------------


@HYPOTHESIS
@given(data=jsonl())
def test_every_non_blank_line_is_accounted_for_exactly_once(db: Store, data: bytes) -> None:
    summary = ingest(db, data)

    assert_accounted(summary, non_blank_lines(data))
    lines = data.split(b"\n")
    for number, _ in summary.invalid:
        assert lines[number - 1].strip(), f"blank line {number} reported invalid"


@HYPOTHESIS
@given(data=st.binary(max_size=4000))
def test_arbitrary_bytes_never_crash_and_each_line_is_counted(db: Store, data: bytes) -> None:
    if starts_an_array(data):
        data = b"x" + data  # arrays have their own test

    summary = ingest(db, data)

    assert_accounted(summary, non_blank_lines(data))


@HYPOTHESIS
@given(events=st.lists(EVENT, min_size=1, max_size=8), copies=st.integers(2, 3))
def test_the_same_lines_piped_again_are_duplicates_or_invalid_again_never_queued_twice(
    db: Store, events: list[dict[str, Any]], copies: int
) -> None:
    data = b"".join(_encode(e, True) + b"\n" for e in events)
    first = ingest(db, data)
    jobs_after_first = db.conn.execute("SELECT count(*) FROM jobs").fetchone()[0]

    for _ in range(copies - 1):
        again = ingest(db, data)
        assert_accounted(again, len(events))
        assert again.queued == 0
        assert again.recorded_only == 0
        assert len(again.invalid) == len(first.invalid)
    assert db.conn.execute("SELECT count(*) FROM jobs").fetchone()[0] == jobs_after_first


# -- one JSON array ----------------------------------------------------------------------------


@HYPOTHESIS
@given(
    items=st.lists(st.one_of(EVENT, EVENT, HOSTILE_NUMBER, st.lists(EVENT, max_size=2))),
    indent=st.sampled_from([None, 2]),
    lead=st.sampled_from([b"", b"\n", b"  \r\n\t"]),
)
def test_a_json_array_is_one_record_per_element(
    db: Store, items: list[Any], indent: int | None, lead: bytes
) -> None:
    data = lead + json.dumps(items, indent=indent).encode()
    try:  # NaN and Infinity are not JSON: such an array is not a valid document at all
        json.dumps(items, allow_nan=False)
        records = len(items)
    except ValueError:
        records = 1

    summary = ingest(db, data)

    assert_accounted(summary, records)
    for number, _ in summary.invalid:
        assert 1 <= number <= max(records, 1)


@pytest.mark.parametrize(
    "data",
    [
        b"[",
        b"[{}",
        b'[{"type": "track"},]',
        b"[NaN]",
        b"[Infinity, -Infinity]",
        b"[1] [2]",
        b"[\xff\xfe]",
        b"[" + b" " * 100 + b"\x00]",
    ],
    ids=["open", "unclosed", "trailing-comma", "nan", "infinity", "two-arrays", "bad-utf8", "nul"],
)
def test_a_broken_array_is_one_invalid_record(db: Store, data: bytes) -> None:
    summary = ingest(db, data)

    assert_accounted(summary, 1)
    [(number, reason)] = summary.invalid
    assert number == 1
    assert "JSON" in reason


@pytest.mark.parametrize("depth", [100_000])
def test_a_deeply_nested_array_is_one_invalid_record(db: Store, depth: int) -> None:
    data = b"[" * depth + b"]" * depth

    summary = ingest(db, data)

    assert_accounted(summary, 1)


def test_an_array_on_the_first_line_does_not_hide_the_lines_after_it(db: Store) -> None:
    valid = {
        "type": "track",
        "title": "Hurt",
        "artist": "Johnny Cash",
        "duration_ms": 200_000,
        "watched_ms": 150_000,
        "watched_at": T,
    }
    data = b"[1, 2]\n" + json.dumps(valid).encode() + b"\nnot json\n"

    summary = ingest(db, data)

    assert_accounted(summary, 3)
    assert summary.queued == 1


# -- size and depth --------------------------------------------------------------------------------


def _track(title: str, at: int) -> bytes:
    event = {
        "type": "track",
        "title": title,
        "artist": "Johnny Cash",
        "duration_ms": 200_000,
        "watched_ms": 150_000,
        "watched_at": at,
    }
    return json.dumps(event).encode()


@pytest.mark.parametrize("final_newline", [True, False])
def test_lines_over_1_mib_are_invalid_and_the_lines_around_them_are_queued(
    db: Store, final_newline: bool
) -> None:
    huge = b'{"type": "track", "title": "' + b"a" * (MAX_LINE_BYTES + 10) + b'"}'
    lines = [_track("Before", T), huge, _track("After", T + 600), huge]
    data = b"\n".join(lines) + (b"\n" if final_newline else b"")

    summary = ingest(db, data)

    assert_accounted(summary, 4)
    assert summary.queued == 2
    assert [number for number, _ in summary.invalid] == [2, 4]
    assert all("longer than" in reason for _, reason in summary.invalid)


def test_a_line_of_exactly_the_limit_is_read_not_refused_for_size(db: Store) -> None:
    event = json.loads(_track("Fits", T))
    event["padding"] = ""
    short = len(json.dumps(event).encode())
    event["padding"] = "p" * (MAX_LINE_BYTES - 1 - short)  # unknown keys are ignored
    line = json.dumps(event).encode()
    assert len(line + b"\n") == MAX_LINE_BYTES  # the newline is part of the line

    summary = ingest(db, line + b"\n")

    assert (summary.total, summary.queued) == (1, 1), summary.invalid


@pytest.mark.parametrize("depth", [50, 1000, 100_000])
def test_a_deeply_nested_line_is_invalid_and_nothing_crashes(db: Store, depth: int) -> None:
    data = _deep(depth).encode() + b"\n" + _track("Survivor", T) + b"\n"

    summary = ingest(db, data)

    assert_accounted(summary, 2)
    assert summary.queued == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("duration_ms", float("nan")),
        ("duration_ms", float("inf")),
        ("duration_ms", -200_000),
        ("duration_ms", 10**30),
        ("watched_ms", -1),
        ("percentage", float("-inf")),
        ("percentage", 100.0000001),
        ("watched_at", -1),
        ("watched_at", 10**30),
        ("watched_at", float("nan")),
        ("watched_at", "9999-12-31T23:59:59-23:59"),
        ("rating", float("inf")),
        ("rating", 11),
        ("year", 10**30),
        ("ids", {"mbid": "x" * 65}),
    ],
)
def test_hostile_numbers_are_refused_as_invalid_lines(db: Store, field: str, value: Any) -> None:
    event = json.loads(_track("Numbers", T))
    event[field] = value
    data = json.dumps(event).encode() + b"\n"

    summary = ingest(db, data)

    assert_accounted(summary, 1)
    assert summary.queued == 0


@pytest.mark.parametrize("when", ["1969-12-31T00:00:00Z", "0001-01-01T00:00:00+14:00"])
def test_an_iso_time_before_1970_is_refused_like_the_same_unix_seconds(
    db: Store, when: str
) -> None:
    event = json.loads(_track("Ancient", T))
    event["watched_at"] = when

    summary = ingest(db, json.dumps(event).encode() + b"\n")

    assert_accounted(summary, 1)
    assert summary.queued == 0


@pytest.mark.parametrize(
    "title",
    [
        "\u202eevil",
        "zero\u200bwidth",
        "\u200b",
        "nul\u0000byte",
        "\U0001f600",
        "\u05e9\u05dc\u05d5\u05dd",
        "e\u0301",
    ],
)
def test_odd_unicode_in_a_title_is_stored_as_sent(db: Store, title: str) -> None:
    data = _track(title, T) + b"\n"

    summary = ingest(db, data)

    assert_accounted(summary, 1)
    assert summary.queued == 1
    stored = db.conn.execute("SELECT title FROM items WHERE kind = 'track'").fetchall()
    assert title in {row[0] for row in stored}


@pytest.mark.parametrize(
    "raw",
    [
        b'{"type": "track", "title": "\\ud800", "artist": "a", "duration_ms": 200000,'
        b' "watched_ms": 150000}',
        b'{"type": "track", "title": "\xed\xa0\x80", "artist": "a", "duration_ms": 200000,'
        b' "watched_ms": 150000}',
    ],
    ids=["escaped", "raw-bytes"],
)
def test_lone_surrogates_are_an_invalid_line_not_a_crash(db: Store, raw: bytes) -> None:
    summary = ingest(db, raw + b"\n" + _track("Survivor", T) + b"\n")

    assert_accounted(summary, 2)
    assert [number for number, _ in summary.invalid] == [1]
    assert summary.queued == 1


# -- through the installed CLI ------------------------------------------------------------------

SUMMARY = re.compile(
    r"queued (\d+), below threshold (\d+), duplicate (\d+), invalid (\d+)"
    r"(?:, recorded with no service to send to (\d+))?(?:, rated \d+)?"
    r"(?:, not a finished play (\d+))?"
)


def scrobble(data: bytes) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "SCROBCTL_TOKEN_STORE": "file"}
    env.pop("SCROBCTL_DEBUG", None)
    return subprocess.run(
        [str(Path(sys.executable).parent / "scrobctl"), "scrobble"],
        input=data,
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )


def cli_total(stderr: str) -> int:
    [match] = [m for line in stderr.splitlines() if (m := SUMMARY.fullmatch(line))]
    return sum(int(group or 0) for group in match.groups())


CLI_INPUTS = {
    "binary-garbage": bytes(range(256)) * 4 + b"\n\x00\xff\n",
    "mixed": b"\n".join(
        [
            _track("One", T),
            b"\xff\xfe not utf-8",
            b"",
            _track("Two", T + 600),
            b'{"type": "track", "title": "\\u0000", "artist": "\\u202e", "duration_ms": NaN}',
            _deep(20_000).encode(),
            b"[1, 2, 3]",
            b'{"type": 5}',
            _track("Three", T + 1200),
        ]
    )
    + b"\n",
    "huge-line": _track("Small", T)
    + b"\n"
    + b'{"type": "track", "title": "'
    + b"z" * (MAX_LINE_BYTES + 1)
    + b'"}\n',
    "only-blank": b"\n \n\t\r\n\n",
    "nul-bytes": b"\x00" * 5000 + b"\n" + _track("After NULs", T) + b"\n",
}


@pytest.mark.parametrize("name", list(CLI_INPUTS))
def test_cli_scrobble_survives_hostile_stdin_and_counts_every_line(
    data_dir: Path, name: str
) -> None:
    data = CLI_INPUTS[name]

    result = scrobble(data)

    stderr = result.stderr.decode("utf-8", "replace")
    assert "Traceback" not in stderr
    assert result.returncode in (0, 1), stderr
    assert cli_total(stderr) == non_blank_lines(data)
    invalid = int(SUMMARY.search(stderr).group(4))  # type: ignore[union-attr]
    assert result.returncode == (1 if invalid else 0)
    reported = [line for line in stderr.splitlines() if line.startswith("line ")]
    assert len(reported) == min(invalid, 50)


def test_cli_scrobble_deeply_nested_array_is_one_invalid_record(data_dir: Path) -> None:
    result = scrobble(b"[" * 100_000 + b"]" * 100_000)

    stderr = result.stderr.decode("utf-8", "replace")
    assert "Traceback" not in stderr
    assert result.returncode == 1
    assert cli_total(stderr) == 1
