"""Fixtures for end-to-end tests: the installed `scrobctl` console script against a fake
ListenBrainz on 127.0.0.1, with the data dir and config isolated by the autouse `isolated_env`."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import pytest

from tests.fakes.lastfm import FakeLastfm
from tests.fakes.listenbrainz import FakeListenBrainz
from tests.fakes.simkl import FakeSimkl
from tests.fakes.trakt import FakeTrakt
from tests.helpers import json_data

GOOD_TOKEN = "good-token"
TIMEOUT = 30.0  # seconds for any one scrobctl run; generous, never a timing assertion


class Cli(Protocol):
    def __call__(
        self, *args: str, input: str | None = None, timeout: float = TIMEOUT
    ) -> subprocess.CompletedProcess[str]: ...


@pytest.fixture(scope="session")
def scrobctl_bin() -> Path:
    """The console script installed next to this interpreter (the editable install's)."""
    path = Path(sys.executable).parent / "scrobctl"
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(
            f"the installed `scrobctl` console script is missing at {path}; "
            "install the project into this venv (pip install -e '.[test]')",
            pytrace=False,
        )
    return path


@pytest.fixture
def fake_lb() -> Iterator[FakeListenBrainz]:
    fake = FakeListenBrainz()
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def cli_env(isolated_env: Path, fake_lb: FakeListenBrainz) -> dict[str, str]:
    """The subprocess environment: the isolated os.environ, file tokens, the fake's URL."""
    env = dict(os.environ)
    env["SCROBCTL_TOKEN_STORE"] = "file"
    env["SCROBCTL_LISTENBRAINZ__API_URL"] = fake_lb.url
    env.pop("SCROBCTL_DEBUG", None)
    return env


@pytest.fixture
def cli(scrobctl_bin: Path, cli_env: dict[str, str]) -> Cli:
    """Run the installed scrobctl; stdin is `input`, or empty (never the test runner's TTY)."""

    def run(
        *args: str, input: str | None = None, timeout: float = TIMEOUT
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(scrobctl_bin), *args],
            input=input if input is not None else "",
            capture_output=True,
            text=True,
            env=cli_env,
            timeout=timeout,
            check=False,
        )

    return run


@pytest.fixture
def popen_cli(scrobctl_bin: Path, cli_env: dict[str, str]) -> Iterator[Callable[..., Any]]:
    """Start scrobctl in the background; every process still running at teardown is killed."""
    started: list[subprocess.Popen[str]] = []

    def start(*args: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [str(scrobctl_bin), *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env,
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=TIMEOUT)


@pytest.fixture
def logged_in(cli: Cli, fake_lb: FakeListenBrainz) -> subprocess.CompletedProcess[str]:
    result = cli("login", "listenbrainz", "--token-stdin", input=GOOD_TOKEN + "\n")
    assert result.returncode == 0, result.stderr
    return result


def unique(prefix: str) -> str:
    """A distinctive value (`prefix` and 16 random hex digits), so a leak check cannot match by
    accident."""
    return f"{prefix}-{secrets.token_hex(8)}"


def fake_service_env(
    *,
    trakt: FakeTrakt | None = None,
    simkl: FakeSimkl | None = None,
    lastfm: FakeLastfm | None = None,
) -> dict[str, str]:
    """The variables that point scrobctl at the given fakes (and at the file token store);
    a service whose fake is not given is left out."""
    env = {"SCROBCTL_TOKEN_STORE": "file"}
    if trakt is not None:
        env["SCROBCTL_TRAKT__API_URL"] = trakt.url
        env["SCROBCTL_TRAKT__AUTH_URL"] = trakt.url
        env["SCROBCTL_TRAKT__CLIENT_ID"] = trakt.client_id
        env["SCROBCTL_TRAKT__CLIENT_SECRET"] = trakt.client_secret
    if simkl is not None:
        env["SCROBCTL_SIMKL__API_URL"] = simkl.url
        env["SCROBCTL_SIMKL__CLIENT_ID"] = simkl.client_id
    if lastfm is not None:
        env["SCROBCTL_LASTFM__API_URL"] = lastfm.url + "/2.0/"
        env["SCROBCTL_LASTFM__AUTH_URL"] = lastfm.url + "/api/auth/"
        env["SCROBCTL_LASTFM__API_KEY"] = lastfm.api_key
        env["SCROBCTL_LASTFM__API_SECRET"] = lastfm.api_secret
    return env


def log_in(cli: Cli, *services: str) -> None:
    """Log in to each named service through the real CLI and assert it worked: ListenBrainz
    takes GOOD_TOKEN on stdin, the others `--no-browser` (their fakes must approve at once)."""
    for service in services:
        if service == "listenbrainz":
            result = cli("login", service, "--token-stdin", input=GOOD_TOKEN + "\n")
        else:
            result = cli("login", service, "--no-browser")
        assert result.returncode == 0, f"login {service}: {result.stderr}"


def connection(status: dict[str, Any], service: str) -> dict[str, Any]:
    """The one entry for `service` in `status --json`'s connections."""
    [found] = [c for c in status["connections"] if c["service"] == service]
    return found


def summary_line(stderr: str, service: str) -> str:
    """The one stderr line that starts with "<service>: " (a flush or export summary)."""
    [line] = [line for line in stderr.splitlines() if line.startswith(f"{service}: ")]
    return line


def status_json(cli: Cli) -> dict[str, Any]:
    """`status --json`, whose exit code is 3 exactly when a connection needs a login."""
    result = cli("status", "--json")
    report = json_data(result.stdout)
    needs_login = any(
        c["status"] == "reconnect_required" or c.get("token", "present") != "present"
        for c in report["connections"]
    )
    assert result.returncode == (3 if needs_login else 0), result.stderr
    return report


def track_events(count: int, *, start: int | None = None) -> list[dict[str, Any]]:
    """`count` distinct finished track plays, five minutes apart, all in the past."""
    first = start if start is not None else int(time.time()) - 30 * 86_400
    return [
        {
            "type": "track",
            "title": f"Track {i:05d}",
            "artist": "The Testers",
            "album": "E2E",
            "duration_ms": 200_000,
            "watched_ms": 150_000,
            "watched_at": first + i * 300,
        }
        for i in range(count)
    ]


def jsonl(events: Sequence[dict[str, Any]]) -> str:
    return "".join(json.dumps(e) + "\n" for e in events)


def wait_until(predicate: Callable[[], bool], *, timeout: float = 10.0, step: float = 0.05) -> None:
    """Poll `predicate` until it holds; fail (not a timing assertion) if it never does."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not reached within {timeout} s")
        time.sleep(step)
