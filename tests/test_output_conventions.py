"""Output conventions through the installed entry point: colour, quiet, verbose, JSON."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.fakes.listenbrainz import FakeListenBrainz
from tests.helpers import json_data, json_error, run_scrobctl

COLOR = re.compile(r"\x1b\[[0-9;]*3[0-9](;[0-9;]*)?m|\x1b\[38;")
EVENT = (
    '{"type": "track", "title": "Hurt", "artist": "Johnny Cash",'
    ' "duration_ms": 218000, "watched_ms": 150000}\n'
)


@pytest.fixture
def lb() -> FakeListenBrainz:
    with FakeListenBrainz() as fake:
        login = run_scrobctl(
            "login",
            "listenbrainz",
            "--token-stdin",
            stdin="good-token\n",
            SCROBCTL_LISTENBRAINZ__API_URL=fake.url,
        )
        assert login.returncode == 0, login.stderr
        yield fake


def test_output_has_no_colour_when_not_a_terminal() -> None:
    out = run_scrobctl("status")
    assert out.returncode == 0
    assert not COLOR.search(out.stdout + out.stderr)


def test_output_is_coloured_when_forced_and_plain_with_no_color() -> None:
    forced = run_scrobctl("doctor", FORCE_COLOR="1")
    plain = run_scrobctl("doctor", FORCE_COLOR="1", NO_COLOR="1")
    assert COLOR.search(forced.stdout)
    assert not COLOR.search(plain.stdout)


def test_quiet_scrobble_prints_only_warnings() -> None:
    out = run_scrobctl("-q", "scrobble", stdin=EVENT)  # nobody is logged in: a warning says so
    assert out.returncode == 0
    assert out.stdout == ""
    assert [line.split(":")[0] for line in out.stderr.splitlines()] == ["warning"]


def test_quiet_still_reports_invalid_lines() -> None:
    out = run_scrobctl("-q", "scrobble", stdin="nope\n")
    assert out.returncode == 1
    assert "line 1" in out.stderr


def test_verbose_logs_each_request_without_the_token(lb: FakeListenBrainz) -> None:
    run_scrobctl("scrobble", stdin=EVENT)
    out = run_scrobctl("-v", "flush", SCROBCTL_LISTENBRAINZ__API_URL=lb.url)
    assert out.returncode == 0, out.stderr
    assert re.search(r"http: POST http://127\.0\.0\.1:\d+/1/submit-listens -> 200", out.stderr)
    assert "good-token" not in out.stderr + out.stdout


def test_verbose_redacts_credentials_in_query_strings() -> None:
    from httpx import URL

    from scrobctl.http import redacted_url

    url = URL("https://ws.audioscrobbler.com/2.0/?method=x&api_key=K&sk=S&api_sig=G&user=me")
    shown = redacted_url(url)
    assert "K" not in shown.split("?")[1].replace("method=x", "")
    assert "sk=REDACTED" in shown and "api_sig=REDACTED" in shown and "user=me" in shown


@pytest.mark.parametrize(
    ("args", "key"),
    [
        (("status", "--json"), "connections"),
        (("queue", "list", "--json"), "jobs"),
        (("history", "--json"), "plays"),
        (("doctor", "--json"), "checks"),
    ],
)
def test_read_commands_print_json(args: tuple[str, ...], key: str) -> None:
    out = run_scrobctl(*args)
    assert key in json_data(out.stdout)


def test_errors_in_json_mode_are_json(tmp_path: Path) -> None:
    out = run_scrobctl("status", "--json", SCROBCTL_TOKEN_STORE="vault")
    assert out.returncode == 2
    error = json_error(out.stdout)
    assert error["exit_code"] == 2 and "token_store" in error["message"]
