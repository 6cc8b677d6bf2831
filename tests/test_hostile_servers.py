"""Hostile and broken servers (DESIGN.md "Queue semantics"; http.py's error mapping), through
the real use cases: `flush` (scrobble/flush.py), history imports (sync/service.py) and logins
(accounts/*), with respx in place of the four services.

What a server does wrong here: 503 on every request; an HTML page where JSON belongs; truncated
or malformed JSON; a timeout; a reset or refused connection; 429 with `Retry-After: 3600`; and a
success status with a body of the wrong shape. Whatever it does, scrobctl raises only its typed
errors (never a traceback), records the failure on the job with a retry schedule, and every play
stays either pending or completed: none is lost, none is marked sent that was not.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
import respx

from scrobctl.accounts.lastfm import login_lastfm
from scrobctl.accounts.listenbrainz import login_listenbrainz
from scrobctl.accounts.simkl import login_simkl
from scrobctl.accounts.trakt import login_trakt
from scrobctl.errors import ExitCode, RateLimited, ScrobctlError, ServiceError
from scrobctl.http import BACKOFF_BASE, BACKOFF_CAP
from scrobctl.runtime import Runtime
from scrobctl.store import connections, queue
from scrobctl.sync.service import import_history
from tests.conftest import FakeClock
from tests.helpers import (
    FakeUI,
    job_states,
    jobs,
    queue_distinct,
    run_flush,
)

PROFILE = "default"
HOUR = 3_600
LB = "https://api.listenbrainz.org"
LASTFM = "https://ws.audioscrobbler.com/2.0/"
TRAKT = "https://api.trakt.tv"
TRAKT_AUTH = "https://auth.trakt.tv"
SIMKL = "https://api.simkl.com"
SERVICES = ("listenbrainz", "lastfm", "trakt", "simkl")


# -- hostile answers ----------------------------------------------------------------------------

HTML = {"Content-Type": "text/html; charset=utf-8"}
JSON = {"Content-Type": "application/json"}
PAGE = b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1>cloudflare</body></html>"


def html(status: int) -> httpx.Response:
    return httpx.Response(status, content=PAGE, headers=HTML)


def raw_json(status: int, body: bytes) -> httpx.Response:
    return httpx.Response(status, content=body, headers=JSON)


def raises(exc: Exception) -> Callable[[httpx.Request], httpx.Response]:
    def side_effect(request: httpx.Request) -> httpx.Response:
        raise exc

    return side_effect


TRANSPORT_FAILURES: dict[str, tuple[Exception, str]] = {
    "read-timeout": (httpx.ReadTimeout("timed out"), "timed out"),
    "connect-timeout": (httpx.ConnectTimeout("timed out"), "timed out"),
    "connection-refused": (httpx.ConnectError("[Errno 111] Connection refused"), "ConnectError"),
    "server-disconnected": (
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        "RemoteProtocolError",
    ),
    "connection-reset": (httpx.ReadError("[Errno 104] Connection reset by peer"), "ReadError"),
}


# -- the four services, answering well ----------------------------------------------------------


@dataclass
class Spec:
    """One service: where its plays go, where a resend is looked up, and a good answer to each."""

    name: str
    submit: str  # POST url
    lookup: str | None  # GET url consulted before resending (services that keep duplicates)
    received: list[Any] = field(default_factory=list)  # every play a good answer accepted

    def ok(self, request: httpx.Request) -> httpx.Response:
        if self.name == "listenbrainz":
            self.received += [x["listened_at"] for x in json.loads(request.content)["payload"]]
            return httpx.Response(200, json={"status": "ok"})
        if self.name == "lastfm":
            params = dict(parse_qsl(request.content.decode(), keep_blank_values=True))
            count = sum(1 for name in params if name.startswith("artist["))
            self.received += [int(params[f"timestamp[{i}]"]) for i in range(count)]
            entry = {"ignoredMessage": {"code": "0", "#text": ""}}
            body = {
                "scrobbles": {
                    "@attr": {"accepted": str(count), "ignored": "0"},
                    "scrobble": [entry] * count if count > 1 else entry,
                }
            }
            return httpx.Response(200, json=body)
        movies = json.loads(request.content)["movies"]
        self.received += [datetime.fromisoformat(m["watched_at"]) for m in movies]
        added = {"movies": len(movies), "episodes": 0}
        return httpx.Response(201, json={"added": added, "not_found": {"movies": [], "shows": []}})

    def nothing_there(self, request: httpx.Request) -> httpx.Response:
        if self.name == "trakt":
            return httpx.Response(200, json=[], headers={"X-Pagination-Page-Count": "1"})
        return raw_json(200, b"null")  # Simkl's "no changes"

    def serve(self, router: respx.MockRouter, submit: Any = None, lookup: Any = None) -> None:
        """(Re)route this service: `submit`/`lookup` are a response or side effect, else good."""
        router.routes.clear()
        self._route(router.post(self.submit), submit, self.ok)
        if self.lookup is not None:
            self._route(router.get(url__startswith=self.lookup), lookup, self.nothing_there)

    @staticmethod
    def _route(route: respx.Route, answer: Any, good: Callable[..., httpx.Response]) -> None:
        if answer is None:
            route.mock(side_effect=good)
        elif isinstance(answer, httpx.Response):
            route.mock(return_value=answer)
        else:
            route.mock(side_effect=answer)


def spec(name: str) -> Spec:
    return {
        "listenbrainz": Spec(name, f"{LB}/1/submit-listens", None),
        "lastfm": Spec(name, LASTFM, None),
        "trakt": Spec(name, f"{TRAKT}/sync/history", f"{TRAKT}/sync/history"),
        "simkl": Spec(name, f"{SIMKL}/sync/history", f"{SIMKL}/sync/all-items/"),
    }[name]


# -- fixtures and helpers -----------------------------------------------------------------------


def last_error(job: dict[str, Any]) -> str:
    return json.loads(job["errors"])[-1]["error"]


def outcome(coro: Coroutine[Any, Any, Any]) -> Any:
    """The result, or the typed error; anything else propagates and fails the test."""
    try:
        return asyncio.run(coro)
    except ScrobctlError as exc:
        return exc


def after_backoff(runtime: Runtime, clock: FakeClock) -> None:
    clock.t = max(job["scheduled_at"] for job in jobs(runtime)) + 1


def sent_once(service: Spec, times: list[int]) -> None:
    """The good answers together took every play exactly once."""
    got = [int(t.timestamp()) if isinstance(t, datetime) else t for t in service.received]
    assert Counter(got) == Counter(times)


# -- a 5xx storm -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SERVICES)
def test_5xx_storm_backs_off_longer_each_attempt_then_discards_and_never_raises(
    logged_in_everywhere: Runtime, clock: FakeClock, api: respx.MockRouter, name: str
) -> None:
    service = spec(name)
    times = queue_distinct(logged_in_everywhere, service.name, 3)
    api.route().mock(return_value=httpx.Response(503, text="upstream overloaded"))
    delays: list[float] = []

    for attempt in range(1, queue.MAX_ATTEMPTS + 1):
        now = clock.now()
        report = run_flush(logged_in_everywhere)
        rows = jobs(logged_in_everywhere)
        assert {row["attempt"] for row in rows} == {attempt}
        assert [e["attempt"] for e in json.loads(rows[0]["errors"])][-1] == attempt
        assert all("503" in last_error(row) for row in rows)
        if attempt == queue.MAX_ATTEMPTS:
            break
        assert job_states(logged_in_everywhere) == {queue.RETRYABLE}
        assert {row["outcome"] for row in rows} == {None}
        assert report.exit_code == ExitCode.OK
        step = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))
        for row in rows:
            assert step / 2 <= row["scheduled_at"] - now <= step, f"attempt {attempt}"
        delays.append(min(row["scheduled_at"] for row in rows) - now)
        after_backoff(logged_in_everywhere, clock)

    assert delays == sorted(delays) and delays[0] < delays[-1], "the back-off does not grow"
    assert job_states(logged_in_everywhere) == {queue.DISCARDED}
    assert all(
        row["outcome"].startswith("failed after 10 attempts") for row in jobs(logged_in_everywhere)
    )
    assert report.exit_code == ExitCode.FAILED
    assert report.services[0].discarded == 3

    # Discarded is still listed and retryable by hand; once the service is back, all go once.
    ids = [row["id"] for row in jobs(logged_in_everywhere)]
    assert queue.retry(logged_in_everywhere.store(), ids, clock.now()) == 3
    service.serve(api)
    recovered = run_flush(logged_in_everywhere)
    assert recovered.exit_code == ExitCode.OK
    assert job_states(logged_in_everywhere) == {queue.COMPLETED}
    sent_once(service, times)


# -- broken answers to a submit -----------------------------------------------------------------


SIMKL_2XX_NOT_JSON = ("truncated-json", "malformed-json", "empty-body", "html-201", "list-201")


def _hostile_submits() -> list[Any]:
    cases: list[Any] = []
    for name in SERVICES:
        ok_status = 200 if name in ("listenbrainz", "lastfm") else 201
        answers: dict[str, tuple[Any, str]] = {
            "html-502": (html(502), "HTML page"),
            "html-503-json-lookalike": (httpx.Response(503, content=PAGE, headers=JSON), "503"),
            "truncated-json": (raw_json(ok_status, b'{"status": "ok", "payl'), ""),
            "malformed-json": (raw_json(ok_status, b"{status: 'ok',}"), ""),
            "empty-body": (raw_json(ok_status, b""), ""),
        }
        for case, (exc, fragment) in TRANSPORT_FAILURES.items():
            answers[case] = (raises(exc), fragment)
        if name == "listenbrainz":
            answers["html-200"] = (html(200), "status ok")
            answers["list-200"] = (httpx.Response(200, json=[]), "status ok")
            answers["weird-200"] = (httpx.Response(200, json={"weird": 1}), "status ok")
            answers["status-not-ok"] = (httpx.Response(200, json={"status": "later"}), "status ok")
        if name == "lastfm":
            answers["html-200"] = (html(200), "unexpected answer")
            answers["scrobbles-x"] = (httpx.Response(200, json={"scrobbles": "x"}), "unexpected")
            answers["too-few-answers"] = (
                httpx.Response(200, json={"scrobbles": {"scrobble": []}}),
                "different number",
            )
            answers["error-16-with-200"] = (
                httpx.Response(200, json={"error": 16, "message": "try again"}),
                "error 16",
            )
            answers["error-11-offline"] = (
                httpx.Response(503, json={"error": 11, "message": "Service Offline"}),
                "error 11",
            )
        if name == "trakt":
            answers["html-201"] = (html(201), "unexpected answer")
            answers["list-201"] = (httpx.Response(201, json=[]), "unexpected answer")
            answers["added-not-counts"] = (
                httpx.Response(201, json={"added": "lots", "not_found": {}}),
                "unexpected answer",
            )
        if name == "simkl":
            answers["not-found-not-lists"] = (
                httpx.Response(201, json={"added": {}, "not_found": "none"}),
                "unexpected answer",
            )
        if name == "simkl":
            answers["html-201"] = (html(201), "unexpected answer")
            answers["list-201"] = (httpx.Response(201, json=[]), "unexpected answer")
        for case, (answer, fragment) in answers.items():
            cases.append(pytest.param(name, answer, fragment, id=f"{name}-{case}"))
    return cases


@pytest.mark.parametrize(("name", "answer", "fragment"), _hostile_submits())
def test_broken_submit_answer_schedules_a_retry_and_loses_no_play(
    logged_in_everywhere: Runtime,
    clock: FakeClock,
    api: respx.MockRouter,
    name: str,
    answer: Any,
    fragment: str,
) -> None:
    service = spec(name)
    times = queue_distinct(logged_in_everywhere, service.name, 3)
    service.serve(api, submit=answer)
    now = clock.now()

    report = run_flush(logged_in_everywhere)

    [line] = report.services
    assert job_states(logged_in_everywhere) == {queue.RETRYABLE}, (
        "a play was marked sent (or dropped)"
    )
    for job in jobs(logged_in_everywhere):
        assert job["outcome"] is None
        assert job["attempt"] == 1
        assert now + BACKOFF_BASE / 2 <= job["scheduled_at"] <= now + BACKOFF_BASE
        assert fragment in last_error(job)
        assert "Traceback" not in last_error(job)
    assert line.retry_scheduled == 3
    assert line.error and fragment in line.error
    assert report.exit_code == ExitCode.OK  # a retry is planned: nothing failed for good yet

    after_backoff(logged_in_everywhere, clock)
    service.serve(api)
    assert run_flush(logged_in_everywhere).exit_code == ExitCode.OK
    assert job_states(logged_in_everywhere) == {queue.COMPLETED}
    sent_once(service, times)


# -- Retry-After ---------------------------------------------------------------------------------


def _rate_limited() -> list[Any]:
    http_date = format_datetime(datetime.fromtimestamp(FakeClock().now() + HOUR, UTC), usegmt=True)
    cases = [
        pytest.param(name, {"Retry-After": "3600"}, id=f"{name}-seconds")
        for name in ("listenbrainz", "trakt", "simkl")
    ]
    cases.append(pytest.param("listenbrainz", {"Retry-After": http_date}, id="lb-http-date"))
    cases.append(pytest.param("trakt", {"Retry-After": http_date}, id="trakt-http-date"))
    cases.append(pytest.param("listenbrainz", {"X-RateLimit-Reset-In": "3599"}, id="lb-reset-in"))
    cases.append(
        pytest.param(
            "lastfm",
            {"Retry-After": "3600"},
            id="lastfm-seconds",
        )
    )
    return cases


@pytest.mark.parametrize(("name", "headers"), _rate_limited())
def test_429_with_retry_after_an_hour_snoozes_an_hour_without_spending_an_attempt(
    logged_in_everywhere: Runtime,
    clock: FakeClock,
    api: respx.MockRouter,
    name: str,
    headers: dict,
) -> None:
    service = spec(name)
    times = queue_distinct(logged_in_everywhere, service.name, 3)
    body = {"error": 29, "message": "Rate Limit Exceeded"} if name == "lastfm" else {"error": "x"}
    limited = httpx.Response(429, json=body, headers=headers)
    service.serve(api, submit=limited)
    until = clock.now() + HOUR

    report = run_flush(logged_in_everywhere)

    assert report.exit_code == ExitCode.OK
    for job in jobs(logged_in_everywhere):
        assert (job["state"], job["attempt"], job["scheduled_at"]) == (queue.AVAILABLE, 0, until)
        assert job["outcome"] is None
        assert json.loads(job["errors"]) == []  # not a failure
    connection = connections.get_connection(logged_in_everywhere.store(), PROFILE, name)
    assert connection is not None and connection.deferred_until == until

    calls = len(api.calls)
    clock.t = until - 60  # still inside the hour: the service is not asked at all
    assert run_flush(logged_in_everywhere).exit_code == ExitCode.OK
    assert len(api.calls) == calls
    assert job_states(logged_in_everywhere) == {queue.AVAILABLE}

    clock.t = until + 1
    service.serve(api)
    assert run_flush(logged_in_everywhere).exit_code == ExitCode.OK
    assert job_states(logged_in_everywhere) == {queue.COMPLETED}
    sent_once(service, times)


# -- the look-up before a resend (Trakt, Simkl) -------------------------------------------------


def _broken_lookups() -> list[Any]:
    cases = []
    for name in ("trakt", "simkl"):
        answers = {
            "html-200": html(200),
            "truncated": raw_json(200, b'[{"id": 1, "watched_at": "2026-'),
            "timeout": raises(httpx.ReadTimeout("timed out")),
            "reset": raises(httpx.RemoteProtocolError("Server disconnected")),
        }
        if name == "trakt":
            answers["object-not-list"] = httpx.Response(200, json={"weird": 1})
            answers["string-not-list"] = httpx.Response(200, json="history")
        else:
            answers["list-not-object"] = httpx.Response(200, json=[1, 2])
            answers["string-not-object"] = httpx.Response(200, json="items")
        for case, answer in answers.items():
            cases.append(pytest.param(name, answer, id=f"{name}-{case}"))
    return cases


@pytest.mark.parametrize(("name", "answer"), _broken_lookups())
def test_broken_history_lookup_before_a_resend_sends_nothing_and_retries_later(
    logged_in_everywhere: Runtime,
    clock: FakeClock,
    api: respx.MockRouter,
    name: str,
    answer: Any,
) -> None:
    service = spec(name)
    times = queue_distinct(logged_in_everywhere, service.name, 3)
    service.serve(api, submit=httpx.Response(503, text="maintenance"))
    run_flush(
        logged_in_everywhere
    )  # attempt 1 may have reached the service: a resend must look first
    after_backoff(logged_in_everywhere, clock)
    service.serve(api, lookup=answer)

    report = run_flush(logged_in_everywhere)

    posts = [call for call in api.calls if call.request.method == "POST"]
    assert len(posts) == 1, "sent again without knowing whether the service has the plays"
    assert job_states(logged_in_everywhere) == {queue.RETRYABLE}
    assert {job["attempt"] for job in jobs(logged_in_everywhere)} == {2}
    assert {job["outcome"] for job in jobs(logged_in_everywhere)} == {None}
    assert all(len(json.loads(job["errors"])) == 2 for job in jobs(logged_in_everywhere))
    assert report.services[0].retry_scheduled == 3
    assert report.exit_code == ExitCode.OK

    after_backoff(logged_in_everywhere, clock)
    service.serve(api)
    assert run_flush(logged_in_everywhere).exit_code == ExitCode.OK
    assert job_states(logged_in_everywhere) == {queue.COMPLETED}
    sent_once(service, times)


# -- history imports -----------------------------------------------------------------------------


def _serve_import(router: respx.MockRouter, name: str, answer: Any) -> None:
    """Every call of `name`'s import answers well except the history page, which gets `answer`."""
    router.routes.clear()

    def route(method: str, url: str, good: httpx.Response | None, hostile: bool) -> None:
        r = router.route(method=method, url__startswith=url)
        Spec._route(r, answer if hostile else None, lambda _request: good)

    if name == "listenbrainz":
        route("GET", f"{LB}/1/user/rob/listen-count", httpx.Response(200, json={}), False)
        route("GET", f"{LB}/1/user/rob/listens", None, True)
        route("GET", f"{LB}/1/feedback/", httpx.Response(200, json={"feedback": []}), False)
    elif name == "trakt":
        route("GET", f"{TRAKT}/sync/history", None, True)
        route("GET", f"{TRAKT}/sync/ratings", httpx.Response(200, json=[]), False)
    elif name == "lastfm":
        route("GET", LASTFM, None, True)
    else:
        activities = {"all": "2026-11-20T00:00:00Z"}
        route("GET", f"{SIMKL}/sync/activities", httpx.Response(200, json=activities), False)
        route("GET", f"{SIMKL}/sync/all-items/", None, True)


def _hostile_pages() -> list[Any]:
    """(service, answer to its history page, what must happen): "error" a typed error that
    leaves the import resumable; "either" a typed error or the bad part skipped."""
    cases: list[Any] = []
    for name in SERVICES:
        answers: dict[str, Any] = {
            "html-200": html(200),
            "html-502": html(502),
            "truncated": raw_json(200, b'{"payload": {"listens": [{"listened_'),
            "read-timeout": raises(httpx.ReadTimeout("timed out")),
            "connection-reset": raises(httpx.ReadError("Connection reset by peer")),
            "429-an-hour": httpx.Response(429, json={}, headers={"Retry-After": "3600"}),
        }
        for case, answer in answers.items():
            cases.append(pytest.param(name, answer, "error", id=f"{name}-{case}"))
    cases += [
        pytest.param(
            "lastfm", httpx.Response(200, json={"recenttracks": "x"}), "error", id="lastfm-x"
        ),
        pytest.param("trakt", httpx.Response(200, json={"weird": 1}), "error", id="trakt-object"),
        pytest.param("listenbrainz", httpx.Response(200, json=["payload"]), "error", id="lb-list"),
        pytest.param("simkl", httpx.Response(200, json=["movies"]), "either", id="simkl-list"),
    ]
    odd: list[tuple[str, httpx.Response, str, str, str]] = [
        (
            "listenbrainz",
            httpx.Response(200, json={"payload": ["x"]}),
            "sync/readers/listenbrainz.py _listens",
            "a list as `payload`",
            "AttributeError ('list' object has no attribute 'get')",
        ),
        (
            "listenbrainz",
            httpx.Response(200, json={"payload": {"listens": 5}}),
            "sync/readers/listenbrainz.py _listens",
            "a number as `payload.listens`",
            "TypeError ('int' object is not iterable)",
        ),
        (
            "lastfm",
            httpx.Response(200, json={"recenttracks": {"@attr": {"totalPages": "many"}}}),
            "sync/readers/lastfm.py _scrobbles",
            '`"totalPages": "many"`',
            "ValueError (int('many'))",
        ),
        (
            "lastfm",
            httpx.Response(200, json={"recenttracks": {"@attr": "x", "track": []}}),
            "sync/readers/lastfm.py _scrobbles",
            'a string as `"@attr"`',
            "AttributeError ('str' object has no attribute 'get')",
        ),
        (
            "simkl",
            httpx.Response(200, json={"movies": 5, "shows": 5, "anime": 5}),
            "sync/readers/simkl.py pages",
            "a number as `movies`",
            "TypeError ('int' object is not iterable)",
        ),
        (
            "trakt",
            raw_json(
                200, b'[{"watched_at": 1e400, "type": "movie", "movie": {"ids": {"tmdb": 1}}}]'
            ),
            "sync/readers/__init__.py parse_time",
            "a watched_at of 1e400 (JSON that Python reads as infinity)",
            "OverflowError (int(inf))",
        ),
        (
            "trakt",
            httpx.Response(
                200,
                json=[{"watched_at": 10**30, "type": "movie", "movie": {"ids": {"tmdb": 1}}}],
            ),
            "the Trakt import (parse_time, then the store)",
            "a watched_at of 10**30",
            "OverflowError (Python int too large to convert to SQLite INTEGER)",
        ),
    ]
    for name, answer, _where, what, _exc in odd:
        cases.append(pytest.param(name, answer, "either", id=f"{name}-{what[:24]}"))
    return cases


@pytest.mark.parametrize(("name", "answer", "expect"), _hostile_pages())
def test_broken_history_page_fails_the_import_with_a_typed_error_and_it_can_resume(
    logged_in_everywhere: Runtime, api: respx.MockRouter, name: str, answer: Any, expect: str
) -> None:
    _serve_import(api, name, answer)

    result = outcome(import_history(logged_in_everywhere, name, PROFILE))

    if expect == "error":
        assert isinstance(result, ScrobctlError), f"the import finished: {result!r}"
    if isinstance(result, ScrobctlError):
        assert isinstance(result, ServiceError), result
        assert result.service == name
        row = logged_in_everywhere.store().conn.execute("SELECT state FROM imports").fetchone()
        assert row is None or row["state"] == "running", "a failed import looks finished"
    connection = connections.get_connection(logged_in_everywhere.store(), PROFILE, name)
    assert connection is not None and connection.usable, "a broken page is not a bad login"


# -- logins ------------------------------------------------------------------------------------


def _serve_login(router: respx.MockRouter, name: str, answer: Any) -> None:
    """The first step of each login flow answers with `answer`."""
    router.routes.clear()
    if name == "listenbrainz":
        route = router.get(f"{LB}/1/validate-token")
    elif name == "trakt":
        route = router.post(f"{TRAKT_AUTH}/oauth/device/code")
    elif name == "lastfm":
        route = router.get(url__startswith=LASTFM)
    else:
        route = router.route(method="GET", host="api.simkl.com", path="/oauth/pin")
    Spec._route(route, answer, lambda _request: httpx.Response(500))


def _login(runtime: Runtime, name: str) -> Coroutine[Any, Any, Any]:
    if name == "listenbrainz":
        return login_listenbrainz(runtime, PROFILE, "hostile-token")
    flows = {"trakt": login_trakt, "lastfm": login_lastfm, "simkl": login_simkl}
    return flows[name](runtime, PROFILE, FakeUI())


def _hostile_logins() -> list[Any]:
    answers: dict[str, Any] = {
        "html-200": html(200),
        "html-502": html(502),
        "truncated": raw_json(200, b'{"token": "abc'),
        "list": httpx.Response(200, json=[]),
        "wrong-types": httpx.Response(
            200,
            json={"valid": [], "user_name": 5, "token": 5, "device_code": 5, "user_code": []},
        ),
        "read-timeout": raises(httpx.ReadTimeout("timed out")),
        "connection-refused": raises(httpx.ConnectError("Connection refused")),
        "429-an-hour": httpx.Response(429, json={}, headers={"Retry-After": "3600"}),
    }
    return [
        pytest.param(
            name,
            answer,
            id=f"{name}-{case}",
        )
        for name in SERVICES
        for case, answer in answers.items()
    ]


@pytest.mark.parametrize(("name", "answer"), _hostile_logins())
def test_broken_login_answer_fails_with_a_typed_error_and_stores_nothing(
    apps_configured: Runtime, api: respx.MockRouter, name: str, answer: Any
) -> None:
    _serve_login(api, name, answer)

    result = outcome(_login(apps_configured, name))

    assert isinstance(result, ServiceError), f"{result!r}: not a typed service error"
    assert result.service == name
    if isinstance(answer, httpx.Response) and answer.status_code == 429:
        assert isinstance(result, RateLimited)
    assert apps_configured.tokens().get(PROFILE, name) is None
    assert connections.get_connection(apps_configured.store(), PROFILE, name) is None
