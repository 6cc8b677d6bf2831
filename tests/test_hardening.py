"""Issue #16 through the real use cases, against a hostile server on 127.0.0.1
(tests/fakes/hostile.py) with the production HTTP client: a write counts only when the answer
reports it, redirects are never followed nor success, server pauses are capped and a far-ahead
one ends the run, one future-time rule, a clock-skew warning once, and a Trakt refresh wherever
a token is used. (The CLI-level cases are in tests/e2e/test_hardening_e2e.py.)
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

from scrobctl.accounts.check import check_connections
from scrobctl.config import Settings
from scrobctl.errors import ServiceError
from scrobctl.http import retry_after
from scrobctl.runtime import Runtime
from scrobctl.scrobble.enqueue import Ingest
from scrobctl.scrobble.events import Event, Line
from scrobctl.scrobble.senders.lastfm import LastfmSender
from scrobctl.scrobble.senders.listenbrainz import ListenBrainzSender
from scrobctl.store import connections, queue
from scrobctl.store.records import PlayRecord
from scrobctl.sync.service import import_history
from tests.conftest import FakeClock
from tests.fakes.hostile import Answer, HostileServer, json_answer
from tests.fakes.server import Request
from tests.helpers import DAY, UNPACED, WEEK, job_states, jobs, queue_distinct, run_flush

PROFILE = "default"
SUBMIT = {
    "trakt": "/trakt/sync/history",
    "simkl": "/simkl/sync/history",
    "lastfm": "/lastfm/2.0/",
    "listenbrainz": "/lb/1/submit-listens",
}


class Script:
    """Each service's good answers; `hostile(request)` replaces the answer to a submit."""

    def __init__(self) -> None:
        self.hostile: Callable[[Request], Answer] | None = None
        self.received: list[Any] = []  # plays a good answer took
        self.headers: dict[str, str] = {}  # added to every good answer
        self.tokens = {"old-access": False, "new-access": True}  # Trakt: token -> accepted
        self.overrides: dict[tuple[str, str], Callable[[Request], Answer]] = {}

    def __call__(self, request: Request) -> Answer:
        override = self.overrides.get((request.method, request.path))
        if override is not None:
            return override(request)
        if request.path in SUBMIT.values() and self.hostile is not None:
            return self.hostile(request)
        answer = self.good(request, record=True)
        return replace(answer, headers={**answer.headers, **self.headers})

    def good(self, request: Request, *, record: bool) -> Answer:
        path = request.path
        keep = self.received.extend if record else (lambda _: None)
        if path.startswith("/trakt/") and not self.tokens.get(
            request.headers.get("authorization", "").removeprefix("Bearer "), False
        ):
            return json_answer(401, '{"error": "invalid_token"}')
        if path == "/trakt-auth/oauth/token":
            token = {
                "access_token": "new-access",
                "refresh_token": "new-refresh",
                "expires_in": WEEK,
                "created_at": int(time.time()),
                "token_type": "bearer",
                "scope": "public",
            }
            return json_answer(200, json.dumps(token))
        if path == "/trakt/users/settings":
            return json_answer(200, '{"user": {"username": "rob"}}')
        if path in ("/trakt/sync/history", "/simkl/sync/history") and request.method == "POST":
            movies = request.json().get("movies", [])
            keep([m["watched_at"] for m in movies])
            added = {"movies": len(movies), "episodes": 0}
            body = {"added": added, "not_found": {"movies": [], "shows": [], "episodes": []}}
            return json_answer(201, json.dumps(body))
        if path.startswith("/trakt/sync/"):
            return json_answer(200, "[]", **{"X-Pagination-Page-Count": "1"})
        if path.startswith("/simkl/sync/all-items"):
            return json_answer(200, "null")
        if path == SUBMIT["listenbrainz"]:
            keep([x["listened_at"] for x in request.json()["payload"]])
            return json_answer(200, '{"status": "ok"}')
        if path == SUBMIT["lastfm"]:
            form = dict(parse_qsl(request.body.decode()))
            count = sum(1 for name in form if name.startswith("artist["))
            keep([form[f"timestamp[{i}]"] for i in range(count)])
            entry = {"ignoredMessage": {"code": "0", "#text": ""}}
            body = {
                "scrobbles": {
                    "@attr": {"accepted": count, "ignored": 0},
                    "scrobble": [entry] * count if count > 1 else entry,
                }
            }
            return json_answer(200, json.dumps(body))
        return json_answer(404, '{"error": "not found"}')


@pytest.fixture
def script() -> Script:
    return Script()


@pytest.fixture
def server(script: Script) -> Iterator[HostileServer]:
    with HostileServer(script) as fake:
        yield fake


@pytest.fixture
def warnings() -> list[str]:
    return []


@pytest.fixture
def logged_in_on_hostile_server(
    isolated_env: Path, clock: FakeClock, server: HostileServer, warnings: list[str]
) -> Iterator[Runtime]:
    """Logged in to all four services on the hostile server, with the production client."""
    url = server.url
    settings = Settings(
        data_dir=isolated_env,
        token_store="file",
        trakt={
            "client_id": "h-id",
            "client_secret": "h-secret",
            "api_url": f"{url}/trakt",
            "auth_url": f"{url}/trakt-auth",
        },
        simkl={"client_id": "h-simkl", "api_url": f"{url}/simkl"},
        lastfm={"api_key": "h-key", "api_secret": "h-secret", "api_url": f"{url}/lastfm/2.0/"},
        listenbrainz={"api_url": f"{url}/lb"},
    )
    rt = Runtime(settings=settings, warn=warnings.append, clock=clock, limits=UNPACED)
    now = int(clock.now())
    secrets = {
        "listenbrainz": {"token": "h-lb"},
        "lastfm": {"session_key": "h-sk"},
        "trakt": {
            "access_token": "new-access",
            "refresh_token": "old-refresh",
            "expires_in": WEEK,
            "created_at": now,
            "token_type": "bearer",
            "scope": "public",
        },
        "simkl": {"access_token": "h-simkl-token"},
    }
    for service, secret in secrets.items():
        rt.tokens().set(PROFILE, service, secret)
        connections.save_login(rt.store(), PROFILE, service, "rob", now + WEEK)
    yield rt
    rt.close()


def after_backoff(runtime: Runtime, clock: FakeClock) -> None:
    clock.t = max(job["scheduled_at"] for job in jobs(runtime)) + 1


# -- sent means the server said so ---------------------------------------------------------------


def redirect(script: Script, server: HostileServer, *, body_of_success: bool) -> Any:
    def answer(request: Request) -> Answer:
        body = script.good(request, record=False).body if body_of_success else b"{}"
        headers = {"Content-Type": "application/json", "Location": f"{server.url}/elsewhere"}
        return Answer(302, body, headers)

    return answer


def _unrecorded_answers() -> list[Any]:
    cases = []
    for name in ("trakt", "simkl"):
        for case, (status, body) in {
            "200-empty": (200, "{}"),
            "201-empty": (201, "{}"),
            "maintenance": (200, '{"message": "Service under maintenance"}'),
            "302-empty": (302, "{}"),
            "too-few-added": (201, '{"added": {"movies": 1, "episodes": 0}, "not_found": {}}'),
        }.items():
            cases.append(pytest.param(name, status, body, id=f"{name}-{case}"))
    for name in ("trakt", "simkl", "lastfm", "listenbrainz"):
        cases.append(pytest.param(name, 302, None, id=f"{name}-302-with-a-success-body"))
    cases.append(
        pytest.param(
            "lastfm",
            200,
            '{"scrobbles": {"@attr": {"accepted": "0", "ignored": "3"}, "scrobble": ['
            + ",".join(['{"ignoredMessage": {"code": "0"}}'] * 3)
            + "]}}",
            id="lastfm-attr-contradicts-entries",
        )
    )
    return cases


@pytest.mark.parametrize(("name", "status", "body"), _unrecorded_answers())
def test_write_answer_that_does_not_report_the_plays_stored_marks_none_sent_and_retries(
    logged_in_on_hostile_server: Runtime,
    clock: FakeClock,
    server: HostileServer,
    script: Script,
    name: str,
    status: int,
    body: str | None,
) -> None:
    times = queue_distinct(logged_in_on_hostile_server, name, 3)
    if body is None:
        script.hostile = redirect(script, server, body_of_success=True)
    else:
        headers = {"Location": f"{server.url}/elsewhere"} if status == 302 else {}
        script.hostile = lambda _request: json_answer(status, body, **headers)

    report = run_flush(logged_in_on_hostile_server)

    assert job_states(logged_in_on_hostile_server) == {queue.RETRYABLE}, "a play was marked sent"
    assert {job["outcome"] for job in jobs(logged_in_on_hostile_server)} == {None}
    assert server.paths("POST").count(SUBMIT[name]) == 1
    assert "/elsewhere" not in server.paths(), "a redirect was followed"
    assert report.services[0].retry_scheduled == 3

    after_backoff(logged_in_on_hostile_server, clock)
    script.hostile = None
    run_flush(logged_in_on_hostile_server)
    assert job_states(logged_in_on_hostile_server) == {queue.COMPLETED}
    assert len(script.received) == len(times) == 3, "each play sent once when the server works"


# -- bounded waits --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"retry-after": "9" * 400},
        {"retry-after": "315360000"},  # ten years
        {"x-ratelimit-reset-in": "inf"},
        {"x-ratelimit-reset-in": "1e308"},
        {"x-ratelimit-reset-in": "9" * 400},
    ],
    ids=["400-nines", "ten-years", "reset-in-inf", "reset-in-1e308", "reset-in-400-nines"],
)
def test_retry_after_is_capped_at_a_day(headers: dict[str, str]) -> None:
    assert retry_after(headers, 1_795_000_000.0) == 86_400


@pytest.mark.parametrize("value", ["²", "١٢", "nan"])
def test_retry_after_that_is_not_ascii_seconds_is_unreadable_not_a_crash(value: str) -> None:
    assert retry_after({"retry-after": value, "x-ratelimit-reset-in": value}, 0.0) is None


def test_flush_window_resetting_far_ahead_ends_the_run_with_the_jobs_scheduled(
    logged_in_on_hostile_server: Runtime,
    clock: FakeClock,
    script: Script,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ListenBrainzSender, "batch_size", 2)
    queue_distinct(logged_in_on_hostile_server, "listenbrainz", 4)
    script.headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset-In": "7200"}
    start = clock.now()

    report = run_flush(logged_in_on_hostile_server)

    assert max(clock.slept, default=0) <= 60, "slept in the process until the window reset"
    rows = jobs(logged_in_on_hostile_server)
    assert [row["state"] for row in rows] == [queue.COMPLETED] * 2 + [queue.AVAILABLE] * 2
    assert {row["scheduled_at"] for row in rows[2:]} == {start + 7201}
    assert {row["attempt"] for row in rows[2:]} == {0}
    connection = connections.get_connection(
        logged_in_on_hostile_server.store(), PROFILE, "listenbrainz"
    )
    assert connection is not None and connection.deferred_until == start + 7201
    assert report.services[0].deferred == 2


def test_queue_retry_lifts_the_pause_of_the_jobs_it_makes_due(
    logged_in_on_hostile_server: Runtime, clock: FakeClock
) -> None:
    queue_distinct(logged_in_on_hostile_server, "listenbrainz", 2)
    connections.defer(
        logged_in_on_hostile_server.store(), PROFILE, "listenbrainz", clock.now() + DAY
    )
    ids = [row["id"] for row in jobs(logged_in_on_hostile_server)]

    assert queue.retry(logged_in_on_hostile_server.store(), ids, clock.now()) == 2
    lifted = queue.lift_pauses(logged_in_on_hostile_server.store(), ids, clock.now())

    assert lifted == [(PROFILE, "listenbrainz")]
    connection = connections.get_connection(
        logged_in_on_hostile_server.store(), PROFILE, "listenbrainz"
    )
    assert connection is not None and connection.deferred_until is None


# -- bounded reads --------------------------------------------------------------------------------


def test_import_stops_with_a_clear_error_when_the_server_ignores_paging(
    logged_in_on_hostile_server: Runtime, script: Script, server: HostileServer
) -> None:
    entries = [
        {"watched_at": f"2026-11-0{day}T20:00:00.000Z", "type": "movie"}
        | {"movie": {"title": f"Film {day}", "ids": {"tmdb": 600 + day}}}
        for day in (1, 2)
    ]
    served: list[int] = []

    def same_page_for_ever(request: Request) -> Answer:
        served.append(int(request.query["page"][0]))
        if len(served) > 50:  # the old code would ask for all 10**6 pages
            return json_answer(503, '{"error": "enough"}')
        return json_answer(200, json.dumps(entries), **{"X-Pagination-Page-Count": "1000000"})

    script.overrides[("GET", "/trakt/sync/history")] = same_page_for_ever

    with pytest.raises(ServiceError, match="ignores paging") as raised:
        asyncio.run(import_history(logged_in_on_hostile_server, "trakt", PROFILE))

    assert raised.value.service == "trakt"
    assert served == [1, 2, 3]
    plays = (
        logged_in_on_hostile_server.store().conn.execute("SELECT count(*) FROM plays").fetchone()[0]
    )
    assert plays == 2, "what came before the stop is kept"


# -- time ------------------------------------------------------------------------------------------


def track_at(at: int) -> Event:
    return Event.model_validate(
        {"type": "track", "title": "Hurt", "artist": "Johnny Cash", "duration_ms": 218_000}
        | {"watched_ms": 218_000, "watched_at": at}
    )


def test_ingest_refuses_a_play_a_sender_would_refuse_and_takes_one_every_sender_takes(
    logged_in_on_hostile_server: Runtime, clock: FakeClock
) -> None:
    now = int(clock.now())
    routes = {PROFILE: {"track": ["lastfm"]}}
    lines = [Line(1, track_at(now + 100)), Line(2, track_at(now + 59))]

    summary = Ingest(logged_in_on_hostile_server.store(), routes, now=now).run(lines)

    assert summary.invalid == [(1, "watched_at is in the future")]
    assert summary.jobs == {"lastfm": 1}
    [play] = queue.play_records(
        logged_in_on_hostile_server.store().conn, [jobs(logged_in_on_hostile_server)[0]["id"]]
    )
    assert isinstance(play, PlayRecord)
    LastfmSender(None, now).prepare(play)  # type: ignore[arg-type]  # no Rejected


def test_flush_says_once_that_the_server_clock_differs(
    logged_in_on_hostile_server: Runtime,
    script: Script,
    warnings: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ListenBrainzSender, "batch_size", 1)
    queue_distinct(
        logged_in_on_hostile_server, "listenbrainz", 3
    )  # the fake clock is days behind real time

    run_flush(logged_in_on_hostile_server)

    assert len(script.received) == 3
    [skew] = [w for w in warnings if "clock" in w]
    assert "ahead of this machine's" in skew


# -- refresh wherever a token is used ---------------------------------------------------------


@pytest.fixture
def stale_trakt_token(logged_in_on_hostile_server: Runtime, script: Script) -> Runtime:
    """Trakt refuses the stored access token, though it is not due for a refresh."""
    secret = logged_in_on_hostile_server.tokens().get(PROFILE, "trakt")
    assert secret is not None
    logged_in_on_hostile_server.tokens().set(
        PROFILE, "trakt", {**secret, "access_token": "old-access"}
    )
    return logged_in_on_hostile_server


def test_import_trakt_refreshes_a_refused_token_and_finishes(
    stale_trakt_token: Runtime, server: HostileServer
) -> None:
    asyncio.run(import_history(stale_trakt_token, "trakt", PROFILE))

    assert "/trakt-auth/oauth/token" in server.paths("POST")
    secret = stale_trakt_token.tokens().get(PROFILE, "trakt")
    assert secret is not None and secret["access_token"] == "new-access"
    connection = connections.get_connection(stale_trakt_token.store(), PROFILE, "trakt")
    assert connection is not None and connection.usable


def test_status_check_refreshes_a_refused_trakt_token_instead_of_reconnect_required(
    stale_trakt_token: Runtime,
) -> None:
    results = {r.service: r for r in asyncio.run(check_connections(stale_trakt_token))}

    assert (results["trakt"].ok, results["trakt"].reconnect) == (True, False)
    connection = connections.get_connection(stale_trakt_token.store(), PROFILE, "trakt")
    assert connection is not None and connection.status == connections.OK
