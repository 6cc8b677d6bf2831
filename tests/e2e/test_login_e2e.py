"""End to end: `scrobctl login` for Trakt, Simkl and Last.fm, and keeping a Trakt login alive.

The installed scrobctl runs as a subprocess (stdin is not a TTY, so nothing is ever pressed)
against fakes on 127.0.0.1 that speak the documented wire formats: Trakt's device flow with
rotating single-use refresh tokens, Simkl's PIN flow, and Last.fm's signed desktop auth.
Timing is only ever compared between requests the fakes recorded, never against the wall clock.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.e2e.conftest import TIMEOUT, Cli, connection, fake_service_env, status_json, unique
from tests.fakes.lastfm import FakeLastfm
from tests.fakes.simkl import FakeSimkl
from tests.fakes.trakt import FakeTrakt
from tests.helpers import json_data

DAY = 86_400
DEVICE_TOKEN = "/oauth/device/token"


@pytest.fixture
def fake_trakt() -> Iterator[FakeTrakt]:
    fake = FakeTrakt(
        client_id=unique("trakt-id"),
        client_secret=unique("trakt-secret"),
        username="rob",
        interval=1,
    )
    with fake:
        yield fake


@pytest.fixture
def fake_simkl() -> Iterator[FakeSimkl]:
    fake = FakeSimkl(client_id=unique("simkl-id"), user_name="rob", interval=1)
    with fake:
        yield fake


@pytest.fixture
def fake_lastfm() -> Iterator[FakeLastfm]:
    fake = FakeLastfm(
        api_key=unique("lastfm-key"),
        api_secret=unique("lastfm-secret"),
        user_name="rob",
        auto_approve_after=2,
    )
    with fake:
        yield fake


@pytest.fixture(autouse=True)
def service_env(
    cli_env: dict[str, str],
    fake_trakt: FakeTrakt,
    fake_simkl: FakeSimkl,
    fake_lastfm: FakeLastfm,
) -> dict[str, str]:
    """Point every service at its fake; `cli` and `popen_cli` run with this same dict."""
    cli_env.update(fake_service_env(trakt=fake_trakt, simkl=fake_simkl, lastfm=fake_lastfm))
    return cli_env


def login(cli: Cli, service: str) -> subprocess.CompletedProcess[str]:
    return cli("login", service, "--no-browser")


def stripped_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def expiry(token: dict[str, Any]) -> float:
    return float(token["created_at"] + token["expires_in"])


def login_trakt_with_expired_token(cli: Cli, fake: FakeTrakt) -> subprocess.CompletedProcess[str]:
    """Log in with a token that was created 30 days ago and lasted 7: due for a refresh.
    Tokens handed out after this one (by a refresh) are fresh again."""
    fake.poll_statuses = [200]
    fake.created_at = int(time.time()) - 30 * DAY
    result = login(cli, "trakt")
    assert result.returncode == 0, result.stderr
    fake.created_at = None
    [token] = fake.issued
    assert expiry(token) < time.time()
    return result


# -- Trakt ---------------------------------------------------------------------------------


def test_trakt_device_login_slows_down_after_429_and_status_shows_account_and_expiry(
    cli: Cli, fake_trakt: FakeTrakt
) -> None:
    fake_trakt.poll_statuses = [400, 400, 429, 400, 200]

    result = login(cli, "trakt")

    assert result.returncode == 0, result.stderr
    assert fake_trakt.user_code in stripped_lines(result.stderr), "the code is not on its own line"
    assert fake_trakt.verification_url in result.stderr
    polls = fake_trakt.requests_to(DEVICE_TOKEN)
    assert len(polls) == 5
    [device_code] = fake_trakt.codes
    for poll in polls:
        assert poll.json() == {
            "code": device_code,
            "client_id": fake_trakt.client_id,
            "client_secret": fake_trakt.client_secret,
        }
    times = fake_trakt.times(DEVICE_TOKEN)
    gaps = [later - earlier for earlier, later in pairwise(times)]
    before_429, after_429 = gaps[:2], gaps[2:]
    assert min(after_429) > max(before_429), f"no slow-down after the 429: gaps {gaps}"
    assert fake_trakt.problems == []

    [token] = fake_trakt.issued
    trakt = connection(status_json(cli), "trakt")
    assert trakt["account"] == "rob"
    assert trakt["status"] == "ok"
    assert trakt["token_expires_at"] is not None
    assert datetime.fromisoformat(trakt["token_expires_at"]).timestamp() == expiry(token)


def test_expired_token_is_refreshed_once_by_two_concurrent_status_checks(
    cli: Cli, popen_cli: Any, fake_trakt: FakeTrakt
) -> None:
    login_trakt_with_expired_token(cli, fake_trakt)
    fake_trakt.refresh_delay = 1.5  # the first refresh is still in flight when the second starts
    settings_before = len(fake_trakt.requests_to("/users/settings"))

    procs = [popen_cli("status", "--check") for _ in range(2)]
    both_started = time.monotonic()
    outputs = [proc.communicate(timeout=TIMEOUT) for proc in procs]

    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert "invalid_grant" not in out + err
    assert len(fake_trakt.refreshes) == 1, "refreshed more than once"
    [refresh] = fake_trakt.refreshes
    assert refresh.status == 200
    assert both_started < refresh.answered_at, "the two processes did not overlap"
    rotated = fake_trakt.issued[-1]
    checks = fake_trakt.requests_to("/users/settings")[settings_before:]
    assert len(checks) == 2
    for check in checks:
        assert check.headers["authorization"] == f"Bearer {rotated['access_token']}"
    assert fake_trakt.problems == []

    trakt = connection(status_json(cli), "trakt")
    assert trakt["status"] == "ok"
    assert datetime.fromisoformat(trakt["token_expires_at"]).timestamp() == expiry(rotated)


def test_refused_refresh_exits_3_names_the_login_command_and_marks_reconnect_required(
    cli: Cli, fake_trakt: FakeTrakt
) -> None:
    login_trakt_with_expired_token(cli, fake_trakt)
    fake_trakt.invalidate_refresh_tokens()

    checked = cli("status", "--check")

    assert checked.returncode == 3, checked.stderr
    assert any("scrobctl login trakt" in line for line in checked.stderr.splitlines())
    [refresh] = fake_trakt.refreshes
    assert refresh.status == 400
    status = cli("status", "--json")  # its exit code is --check's business, not asserted here
    trakt = connection(json_data(status.stdout), "trakt")
    assert trakt["status"] == "reconnect_required"


def test_refused_refresh_line_names_the_service_once(cli: Cli, fake_trakt: FakeTrakt) -> None:
    login_trakt_with_expired_token(cli, fake_trakt)
    fake_trakt.invalidate_refresh_tokens()

    checked = cli("status", "--check")

    assert checked.returncode == 3, checked.stderr
    [line] = [line for line in checked.stderr.splitlines() if "scrobctl login trakt" in line]
    assert line.startswith("trakt: ")
    assert not line.startswith("trakt: trakt:"), line


def test_login_trakt_without_app_credentials_and_no_tty_exits_2_with_one_line(
    cli: Cli, cli_env: dict[str, str], fake_trakt: FakeTrakt
) -> None:
    del cli_env["SCROBCTL_TRAKT__CLIENT_ID"]
    del cli_env["SCROBCTL_TRAKT__CLIENT_SECRET"]

    result = login(cli, "trakt")

    assert result.returncode == 2
    [line] = stripped_lines(result.stderr)
    assert "SCROBCTL_TRAKT__CLIENT_ID" in line
    assert "trakt.tv/oauth/applications" in line
    assert fake_trakt.log == []


# -- Last.fm and Simkl ---------------------------------------------------------------------


def test_lastfm_login_signs_every_request_and_prints_the_auth_url(
    cli: Cli, fake_lastfm: FakeLastfm
) -> None:
    # auto_approve_after=2: two "not authorised yet" answers (error 14), then the session.
    result = login(cli, "lastfm")

    assert result.returncode == 0, result.stderr
    assert [c.method for c in fake_lastfm.calls] == ["auth.getToken"] + ["auth.getSession"] * 3
    assert [c.error for c in fake_lastfm.calls] == [None, 14, 14, None]
    assert all(c.signature_valid for c in fake_lastfm.calls)
    [url] = [line for line in stripped_lines(result.stderr) if line.startswith(fake_lastfm.url)]
    query = parse_qs(urlsplit(url).query)
    assert query["api_key"] == [fake_lastfm.api_key]
    assert query["token"] == [fake_lastfm.token]

    checked = cli("status", "--check")
    assert checked.returncode == 0, checked.stderr
    [info] = fake_lastfm.calls_to("user.getInfo")
    assert info.signature_valid
    assert info.error is None
    assert connection(status_json(cli), "lastfm")["account"] == "rob"
    assert fake_lastfm.problems == []


def test_simkl_pin_login_shows_the_pin_and_stops_polling_once_approved(
    cli: Cli, fake_simkl: FakeSimkl
) -> None:
    fake_simkl.pending_polls = 2

    result = login(cli, "simkl")

    assert result.returncode == 0, result.stderr
    code = fake_simkl.user_code
    assert code in stripped_lines(result.stderr), "the PIN is not on its own line"
    assert "simkl.com/pin" in result.stderr
    assert len(fake_simkl.requests_to(f"/oauth/pin/{code}")) == 3
    assert fake_simkl.issued_codes == [code], "polled again after the code was used"
    simkl = connection(status_json(cli), "simkl")
    assert simkl["account"] == "rob"
    assert simkl["status"] == "ok"
    assert fake_simkl.problems == []


# -- secrets -------------------------------------------------------------------------------


def test_no_secret_reaches_the_database_config_or_output_after_every_login(
    cli: Cli,
    isolated_env: Path,
    tmp_path: Path,
    fake_trakt: FakeTrakt,
    fake_simkl: FakeSimkl,
    fake_lastfm: FakeLastfm,
) -> None:
    fake_simkl.pending_polls = 0
    fake_lastfm.auto_approve_after = 0

    runs = [
        login_trakt_with_expired_token(cli, fake_trakt),
        login(cli, "simkl"),
        login(cli, "lastfm"),
        cli("status", "--check"),  # refreshes the Trakt token: a second pair to keep quiet
        cli("status", "--json"),
        cli("status"),
    ]

    for run in runs:
        assert run.returncode == 0, run.stderr
    assert len(fake_trakt.refreshes) == 1
    known = fake_trakt.known_secrets() | fake_simkl.known_secrets() | fake_lastfm.known_secrets()
    # Trakt: client secret and two token pairs; Simkl: a token; Last.fm: secret and session key.
    assert len(known) == 8
    token_file = isolated_env / "tokens.json"
    stored = token_file.read_text()
    for token in (
        fake_trakt.issued[-1]["access_token"],
        fake_trakt.issued[-1]["refresh_token"],
        *fake_simkl.tokens,
        *fake_lastfm.state.sessions,
    ):
        assert token in stored  # so the checks below look for the right strings
    assert (isolated_env / "scrobctl.db").is_file()
    # Every file the runs left (database and its WAL, config, locks), but the token store.
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p != token_file]
    for secret in known:
        for path in files:
            assert secret.encode() not in path.read_bytes(), f"a secret is in {path}"
        for run in runs:
            assert secret not in run.stdout + run.stderr, f"a secret was printed by {run.args}"
