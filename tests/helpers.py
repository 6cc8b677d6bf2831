"""Plain helpers several unit-test files share, so each stays one copy (fixtures: conftest.py)."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import httpx
import pylast
import pytest
import yaml

from scrobctl.accounts.common import APP_PROFILE, Field, LoginUI
from scrobctl.clock import Clock
from scrobctl.config import Settings
from scrobctl.http import RATE_LIMITS, Limits, make_client
from scrobctl.runtime import Runtime
from scrobctl.scrobble.enqueue import Ingest
from scrobctl.scrobble.events import Event, Line
from scrobctl.scrobble.flush import FlushReport, ServiceReport, flush
from scrobctl.store import connections, queue
from tests.conftest import FakeClock

PROFILE = "default"
NOW = 1_795_000_000  # FakeClock's start: 2026-11-18T11:06:40Z
CASSETTES = Path(__file__).resolve().parent.parent / "cassettes"
DAY = 86_400
WEEK = 7 * DAY
# The media type each kind takes in the tests that queue plays of one kind for it.
MEDIA = {"listenbrainz": "track", "lastfm": "track", "trakt": "movie", "simkl": "movie"}


# -- runtimes ---------------------------------------------------------------------------------

# Every bucket at 1,000 requests a second. The leaky bucket paces on the event loop's real
# clock, not the FakeClock: at the documented rates a login of six requests would spend five
# wall-clock seconds. A test about pacing builds its runtime with `RATE_LIMITS` itself.
UNPACED = Limits({bucket: (1000, 1) for bucket in RATE_LIMITS})


def make_runtime(
    data_dir: Path,
    clock: Clock,
    http_client: Callable[[], httpx.AsyncClient] = lambda: httpx.AsyncClient(),
    *,
    limits: Limits = UNPACED,
    **services: dict[str, str],
) -> Runtime:
    """A Runtime with a token file, the fake clock, unpaced limits and an httpx client respx can
    intercept."""
    settings = Settings(data_dir=data_dir, token_store="file", **services)
    return Runtime(
        settings=settings, warn=lambda _m: None, clock=clock, http_client=http_client, limits=limits
    )


class FakeUI:
    """A LoginUI that records every call; asks nothing unless built `interactive=True`."""

    def __init__(self, *, interactive: bool = False, answers: dict[str, str] | None = None):
        self.interactive = interactive
        self.answers = dict(answers or {})
        self.calls: list[tuple[Any, ...]] = []

    def show_code(self, code: str | None, url: str, expires_in: int) -> None:
        self.calls.append(("show_code", code, url, expires_in))

    def offer_browser(self, url: str) -> None:
        self.calls.append(("offer_browser", url))

    @contextmanager
    def waiting(self, message: str) -> Iterator[None]:
        self.calls.append(("waiting", message))
        yield None

    def ask_app_credentials(self, service: str, help_text: str, fields: list[Field]) -> dict:
        self.calls.append(("ask_app_credentials", service, help_text, [f.name for f in fields]))
        return dict(self.answers)

    def called(self, name: str) -> list[tuple[Any, ...]]:
        return [call[1:] for call in self.calls if call[0] == name]


_: LoginUI = FakeUI()  # a type checker confirms FakeUI implements the protocol


# -- the test accounts ---------------------------------------------------------------------------

TRAKT_APP = {"client_id": "trakt-client-id", "client_secret": "trakt-client-secret"}
TRAKT_ACCESS = "trakt-access-token"
TRAKT_REFRESH = "trakt-refresh-token"
SIMKL_CLIENT_ID = "simkl-client-id"
SIMKL_TOKEN = "simkl-access-token"
# Last.fm issues 32 hex digits for each.
LASTFM_APP = {
    "api_key": "0123456789abcdef0123456789abcdef",
    "api_secret": "fedcba9876543210fedcba9876543210",
}
LASTFM_SESSION = "lastfm-session-key"
LB_TOKEN = "lb-user-token"
# The API apps in the settings of a logged-in runtime; Simkl's client id is kept in the token
# store's "@app" entry (see log_in), where `login simkl` leaves an asked-for one.
APPS = {"trakt": TRAKT_APP, "lastfm": LASTFM_APP}
# The accounts the logins name (the Trakt account of the cassettes and fakes is "sean").
ACCOUNTS = {"trakt": "sean", "simkl": "rob", "lastfm": "rob", "listenbrainz": "rob"}


def log_in(runtime: Runtime, service: str, profile: str = PROFILE) -> None:
    """`profile` logged in to `service` a moment ago with the test account's secret: a Trakt
    token with a week left (no refresh due); Simkl's client id in "@app"."""
    now = int(runtime.clock.now())
    tokens = runtime.tokens()
    expires_at = None
    if service == "trakt":
        secret: dict[str, Any] = trakt_token_set(TRAKT_ACCESS, now, TRAKT_REFRESH)
        expires_at = now + WEEK
    elif service == "simkl":
        tokens.set(APP_PROFILE, "simkl", {"client_id": SIMKL_CLIENT_ID})
        secret = {"access_token": SIMKL_TOKEN}
    elif service == "lastfm":
        secret = {"session_key": LASTFM_SESSION}
    else:
        secret = {"token": LB_TOKEN}
    tokens.set(profile, service, secret)
    connections.save_login(runtime.store(), profile, service, ACCOUNTS[service], expires_at)


def logged_in(
    data_dir: Path,
    clock: Clock,
    *services: str,
    http_client: Callable[[], httpx.AsyncClient] = make_client,
) -> Runtime:
    """A runtime with the API apps in the settings and the production HTTP client, logged in to
    each of `services`."""
    runtime = make_runtime(data_dir, clock, http_client, **APPS)
    for service in services:
        log_in(runtime, service)
    return runtime


# -- respx stand-ins ------------------------------------------------------------------------------


class Endpoint:
    """A respx side effect: keeps every request and when it came; answers from `script` in
    order, then with `answer(request)`."""

    def __init__(
        self, answer: Callable[[httpx.Request], httpx.Response], *script: httpx.Response
    ) -> None:
        self.answer = answer
        self.script = list(script)
        self.requests: list[httpx.Request] = []
        self.times: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.times.append(time.monotonic())
        if self.script:
            return self.script.pop(0)
        return self.answer(request)

    @property
    def bodies(self) -> list[Any]:
        return [json.loads(r.content) for r in self.requests]

    @property
    def forms(self) -> list[dict[str, str]]:
        return [dict(parse_qsl(r.content.decode())) for r in self.requests]


# -- the CLI's command tree ----------------------------------------------------------------------


def command_paths() -> list[tuple[str, ...]]:
    """Every command and group in the tree, as argv paths; () is the root."""
    import typer

    from scrobctl.cli import app

    paths: list[tuple[str, ...]] = []

    def walk(command: object, path: tuple[str, ...]) -> None:
        paths.append(path)
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return paths


def lookup(path: tuple[str, ...]) -> object:
    """The click command at `path`."""
    import typer

    from scrobctl.cli import app

    command: object = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    return command


# -- the installed CLI ----------------------------------------------------------------------------

SCROBCTL = Path(sys.executable).parent / "scrobctl"


def run_scrobctl(*args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    """The installed `scrobctl ARGS` in a process of its own, with a file token store."""
    return subprocess.run(
        [str(SCROBCTL), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, "SCROBCTL_TOKEN_STORE": "file", **env},
        timeout=60,
        check=False,
    )


# -- the CLI in-process ---------------------------------------------------------------------------


def run_main(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *args: str,
    stdin: str | None = None,
) -> tuple[int, str, str]:
    """`scrobctl ARGS` in-process, reading `stdin` when given: (exit code, stdout, stderr)."""
    import scrobctl.cli

    monkeypatch.setattr(sys, "argv", ["scrobctl", *args])
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode())))
    try:
        scrobctl.cli.main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    else:
        code = 0
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# -- the flush ----------------------------------------------------------------------------------


def run_flush(runtime: Runtime) -> FlushReport:
    """One `flush` run to completion, as the CLI command runs it."""
    return asyncio.run(flush(runtime))


def only(report: FlushReport) -> ServiceReport:
    """The report's one service line (these tests have one profile, one service)."""
    assert len(report.services) == 1
    return report.services[0]


def queue_plays(runtime: Runtime, service: str, events: list[Event]) -> None:
    """Queue every event for `service` through the real ingest, asserting each made one job."""
    routes = {PROFILE: {"movie": [service], "episode": [service], "track": [service]}}
    lines = [Line(i + 1, event) for i, event in enumerate(events)]
    feed = Ingest(runtime.store(), routes, now=runtime.clock.now())
    assert feed.run(lines).jobs == {service: len(events)}


def queue_distinct(runtime: Runtime, service: str, count: int) -> list[int]:
    """`count` distinct plays a day old of the service's media, routed to it only; returns
    their times."""
    now = runtime.clock.now()
    start = int(now) - DAY
    times = [start + 900 * i for i in range(count)]
    events = []
    for i, at in enumerate(times):
        if MEDIA[service] == "track":
            data = {"type": "track", "artist": "Artist", "title": f"Song {i:03d}"}
            data |= {"duration_ms": 200_000, "watched_ms": 200_000}
        else:
            data = {"type": "movie", "title": f"Film {i:03d}", "ids": {"tmdb": 50_000 + i}}
            data |= {"duration_ms": 6_000_000, "percentage": 95}
        events.append(Line(i + 1, Event.model_validate({**data, "watched_at": at})))
    routes = {PROFILE: {MEDIA[service]: [service]}}
    summary = Ingest(runtime.store(), routes, now=now).run(events)
    assert summary.jobs == {service: count}
    return times


def jobs(runtime: Runtime) -> list[dict[str, Any]]:
    """Every job row, oldest first."""
    rows = runtime.store().conn.execute("SELECT * FROM jobs ORDER BY id").fetchall()
    return [dict(row) for row in rows]


def job_states(runtime: Runtime) -> set[str]:
    return {job["state"] for job in jobs(runtime)}


def leave_running(runtime: Runtime, clock: FakeClock) -> None:
    """As a run killed after sending leaves its batch: running, attempt 1, another run id."""
    with runtime.store().transaction() as conn:
        conn.execute(
            "UPDATE jobs SET state = 'running', run_id = 'dead', attempt = 1, lease_expires_at = ?",
            (clock.now() + queue.LEASE_SECONDS,),
        )


# -- video plays the Trakt and Simkl senders queue -------------------------------------------------


def movie(at: int, **ids: Any) -> Event:
    """A finished movie play, known by `ids`, at `at`."""
    return Event.model_validate(
        {"type": "movie", "ids": ids, "duration_ms": 8_160_000, "percentage": 95, "watched_at": at}
    )


def episode(at: int, show: int, season: int, number: int, **ids: Any) -> Event:
    """A finished episode play of the show with tvdb id `show`, with the episode's own `ids`."""
    return Event.model_validate(
        {
            "type": "episode",
            "show": {"title": f"Show {show}", "ids": {"tvdb": show}},
            "season": season,
            "number": number,
            "ids": ids,
            "duration_ms": 3_300_000,
            "percentage": 95,
            "watched_at": at,
        }
    )


# -- service credentials ----------------------------------------------------------------------


def trakt_token_set(access: str, created_at: int, refresh: str) -> dict[str, Any]:
    """A Trakt token answer as stored after login: a week's access token made at `created_at`."""
    return {
        "access_token": access,
        "refresh_token": refresh,
        "expires_in": WEEK,
        "created_at": created_at,
        "token_type": "bearer",
        "scope": "public",
    }


def pylast_signature(
    params: dict[str, str], api_key: str, api_secret: str, session_key: str
) -> str:
    """What pylast would sign for the same call with the same API account and session."""
    network = pylast.LastFMNetwork(api_key=api_key, api_secret=api_secret, session_key=session_key)
    signed = {
        k: v for k, v in params.items() if k not in ("method", "api_key", "sk", "api_sig", "format")
    }
    oracle = pylast._Request(network, params["method"], signed)
    oracle.sign_it()
    return oracle.params["api_sig"]


# -- imports ------------------------------------------------------------------------------------


def watched_times(runtime: Runtime) -> list[int]:
    """Every stored play's time, newest first."""
    rows = runtime.store().conn.execute("SELECT watched_at FROM plays ORDER BY watched_at DESC")
    return [r[0] for r in rows]


# -- cassettes ----------------------------------------------------------------------------------


def interactions(service: str, name: str) -> list[dict[str, Any]]:
    """The recorded request/answer pairs of cassettes/{service}/{name}."""
    data = yaml.safe_load((CASSETTES / service / name).read_text(encoding="utf-8"))
    return data["interactions"]


def capturing(sent: list[httpx.Request]) -> Callable[[], httpx.AsyncClient]:
    """The production client, keeping every request it sends."""

    async def keep(request: httpx.Request) -> None:
        sent.append(request)

    def build() -> httpx.AsyncClient:
        client = make_client()
        client.event_hooks = {"request": [keep], "response": []}
        return client

    return build


# -- the CLI's JSON envelope (README "JSON output") ---------------------------------------------


def json_envelope(text: str) -> dict[str, Any]:
    """A --json answer, checked to be the one envelope: `{"data", "exit_code"}` or `{"error":
    {"message", "hint", "exit_code"}}`."""
    import json

    envelope = json.loads(text)
    assert isinstance(envelope, dict), text
    if "error" in envelope:
        assert set(envelope) == {"error"}, text
        assert set(envelope["error"]) == {"message", "hint", "exit_code"}, text
    else:
        assert set(envelope) == {"data", "exit_code"}, text
        assert isinstance(envelope["exit_code"], int), text
    return envelope


def json_data(text: str) -> Any:
    """The data of a successful --json answer (its envelope checked)."""
    envelope = json_envelope(text)
    assert "data" in envelope, text
    return envelope["data"]


def json_error(text: str) -> dict[str, Any]:
    """The error of a failed --json answer: message, hint and exit code apart."""
    envelope = json_envelope(text)
    assert "error" in envelope, text
    return envelope["error"]


_T = TypeVar("_T")


def vm_steps(conn: Any, work: Callable[[], _T]) -> tuple[int, _T]:
    """SQLite virtual-machine steps (in hundreds) that `work` makes on `conn`, and its result:
    a count the machine's load does not change, for tests that cost stays flat in size."""
    steps = [0]

    def tick() -> int:
        steps[0] += 1
        return 0

    conn.set_progress_handler(tick, 100)
    try:
        result = work()
    finally:
        conn.set_progress_handler(None, 0)
    return steps[0], result
