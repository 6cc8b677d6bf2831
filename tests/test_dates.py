"""The dates people type, wherever a command takes a date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from scrobctl.cli.dates import parse_date
from scrobctl.cli.output import local_time
from scrobctl.errors import UsageError

CET = timezone(timedelta(hours=1))
NOW = datetime(2026, 11, 23, 21, 15, tzinfo=CET)


@pytest.mark.parametrize(
    ("text", "ago"),
    [
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
        ("12h", timedelta(hours=12)),
        ("30m", timedelta(minutes=30)),
        ("3 D", timedelta(days=3)),
    ],
)
def test_parse_date_reads_durations_as_that_long_ago(text: str, ago: timedelta) -> None:
    assert parse_date(text, now=NOW) == int((NOW - ago).timestamp())


def test_parse_date_yesterday_is_local_midnight_of_the_day_before() -> None:
    assert parse_date("yesterday", now=NOW) == int(datetime(2026, 11, 22, tzinfo=CET).timestamp())


def test_parse_date_today_is_local_midnight() -> None:
    assert parse_date("Today", now=NOW) == int(datetime(2026, 11, 23, tzinfo=CET).timestamp())


def test_parse_date_reads_plain_dates_and_times_with_an_offset() -> None:
    assert parse_date("2026-11-01T20:00Z") == int(datetime(2026, 11, 1, 20, tzinfo=UTC).timestamp())


def test_parse_date_takes_unix_seconds() -> None:
    assert parse_date("1771414109") == 1771414109


def test_parse_date_names_the_option_and_gives_examples_when_it_cannot_read_it() -> None:
    with pytest.raises(UsageError) as caught:
        parse_date("last tuesday", "--since")
    assert "--since 'last tuesday' is not a date" in str(caught.value)
    assert "7d" in caught.value.hint


def test_local_time_shows_the_zone_offset() -> None:
    assert local_time(0).endswith(datetime.fromtimestamp(0, UTC).astimezone().strftime("%z"))
