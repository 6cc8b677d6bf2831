"""The Last.fm sender under `flush` (api-notes A.3, A.4, A.8): signed `track.scrobble` batches of
50 with indexed parameters, per-play ignored codes, the 14-day rule and the error codes, against
respx in place of ws.audioscrobbler.com. Signatures are checked against pylast's own algorithm."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
import respx

from scrobctl.errors import ExitCode
from scrobctl.http import BACKOFF_BASE, BACKOFF_CAP
from scrobctl.runtime import Runtime
from scrobctl.scrobble.enqueue import Ingest
from scrobctl.scrobble.events import Event, Line
from scrobctl.services.lastfm import RATE_LIMIT_WAIT
from scrobctl.store import connections, queue
from tests.conftest import FakeClock
from tests.helpers import (
    LASTFM_APP,
    LASTFM_SESSION,
    only,
    pylast_signature,
    run_flush,
)

API = "https://ws.audioscrobbler.com/2.0/"
SERVICE = "lastfm"
PROFILE = "default"
API_KEY, API_SECRET = LASTFM_APP["api_key"], LASTFM_APP["api_secret"]
SESSION_KEY = LASTFM_SESSION
DAY = 86_400
# 2026-11-19 00:00:00 UTC: the first midnight after FakeClock's start (2026-11-18 11:06:40 UTC).
NEXT_MIDNIGHT = 1_795_046_400.0


# -- a Last.fm stand-in -------------------------------------------------------------------------


def entry(params: dict[str, str], i: int, code: int = 0, text: str = "") -> dict[str, Any]:
    """One `scrobbles.scrobble` element as Last.fm writes it (A.4): XML turned into JSON."""
    return {
        "track": {"corrected": "0", "#text": params[f"track[{i}]"]},
        "artist": {"corrected": "0", "#text": params[f"artist[{i}]"]},
        "album": {"corrected": "0", "#text": params.get(f"album[{i}]", "")},
        "albumArtist": {"corrected": "0", "#text": ""},
        "timestamp": params[f"timestamp[{i}]"],
        "ignoredMessage": {"code": str(code), "#text": text},
    }


def size(params: dict[str, str]) -> int:
    return sum(1 for name in params if name.startswith("artist["))


def answer_by_artist(ignored: dict[str, tuple[int, str]]) -> Callable[[dict], httpx.Response]:
    """Accept every scrobble except those whose artist is in `ignored` (code, text)."""

    def answer(params: dict[str, str]) -> httpx.Response:
        items = [
            entry(params, i, *ignored.get(params[f"artist[{i}]"], (0, "")))
            for i in range(size(params))
        ]
        skipped = sum(1 for item in items if item["ignoredMessage"]["code"] != "0")
        attr = {"accepted": str(len(items) - skipped), "ignored": str(skipped)}
        return httpx.Response(200, json={"scrobbles": {"@attr": attr, "scrobble": items}})

    return answer


accept_all = answer_by_artist({})


class Scrobbler:
    """The respx side effect for POST /2.0/: keeps each call's form parameters and answers from
    `script` in order, then with `answer(params)` (by default every scrobble accepted)."""

    def __init__(
        self,
        *script: httpx.Response,
        answer: Callable[[dict[str, str]], httpx.Response] = accept_all,
    ) -> None:
        self.script = list(script)
        self.answer = answer
        self.calls: list[dict[str, str]] = []
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        params = dict(parse_qsl(request.content.decode("utf-8"), keep_blank_values=True))
        self.calls.append(params)
        self.requests.append(request)
        return self.script.pop(0) if self.script else self.answer(params)

    @property
    def sizes(self) -> list[int]:
        return [size(params) for params in self.calls]


def error(status: int, code: int, message: str) -> httpx.Response:
    return httpx.Response(status, json={"error": code, "message": message})


# -- fixtures and helpers ---------------------------------------------------------------------


def serve(router: respx.MockRouter, server: Scrobbler) -> Scrobbler:
    router.post(API).mock(side_effect=server)
    return server


def track(at: int, title: str, artist: str = "Artist", **extra: Any) -> Event:
    return Event.model_validate(
        {
            "type": "track",
            "title": title,
            "artist": artist,
            "duration_ms": 200_000,
            "watched_ms": 200_000,
            "watched_at": at,
            **extra,
        }
    )


def ingest(runtime: Runtime, events: list[Event]) -> None:
    lines = [Line(i + 1, event) for i, event in enumerate(events)]
    feed = Ingest(runtime.store(), {PROFILE: {"track": [SERVICE]}}, now=runtime.clock.now())
    assert feed.run(lines).jobs == {SERVICE: len(events)}


def queue_tracks(runtime: Runtime, count: int, start_ago: int = DAY) -> list[int]:
    """`count` distinct plays, five minutes apart, starting `start_ago` seconds ago."""
    start = int(runtime.clock.now()) - start_ago
    times = [start + 300 * i for i in range(count)]
    ingest(runtime, [track(at, f"Track {i:04d}") for i, at in enumerate(times)])
    return times


def jobs(runtime: Runtime) -> list[sqlite3.Row]:
    return (
        runtime.store()
        .conn.execute(
            "SELECT jobs.*, plays.watched_at, items.title, items.artist FROM jobs"
            " JOIN plays ON plays.id = jobs.play_id JOIN items ON items.id = plays.item_id"
            " ORDER BY plays.watched_at, jobs.id"
        )
        .fetchall()
    )


# -- batching and signing ---------------------------------------------------------------------


def test_lastfm_flush_sends_120_tracks_in_three_posts_of_50_50_20(
    logged_in_lastfm: Runtime, api: respx.MockRouter
) -> None:
    times = queue_tracks(logged_in_lastfm, 120)
    server = serve(api, Scrobbler())

    report = run_flush(logged_in_lastfm)

    assert server.sizes == [50, 50, 20]
    sent = [int(p[f"timestamp[{i}]"]) for p in server.calls for i in range(size(p))]
    assert sent == times  # oldest first, each play once
    assert {p["method"] for p in server.calls} == {"track.scrobble"}
    assert {row["state"] for row in jobs(logged_in_lastfm)} == {queue.COMPLETED}
    assert (only(report).sent, only(report).requests) == (120, 3)
    assert report.exit_code == ExitCode.OK


def test_lastfm_scrobble_is_a_form_post_with_every_parameter_in_the_body(
    logged_in_lastfm: Runtime, api: respx.MockRouter
) -> None:
    queue_tracks(logged_in_lastfm, 2)
    server = serve(api, Scrobbler())

    run_flush(logged_in_lastfm)

    (request,) = server.requests
    assert request.method == "POST"
    assert request.url.query == b""  # nothing in the query string
    assert request.headers["content-type"].startswith("application/x-www-form-urlencoded")
    params = server.calls[0]
    assert (params["api_key"], params["sk"], params["format"]) == (API_KEY, SESSION_KEY, "json")


def test_lastfm_scrobble_params_are_indexed_with_album_duration_and_mbid_when_known(
    logged_in_lastfm: Runtime, api: respx.MockRouter, clock: FakeClock
) -> None:
    at = int(clock.now()) - 3_600
    mbid = "8f3471b5-7e6a-48da-86a9-c1c07a0f47ae"
    full = track(at, "Hurt", "Johnny Cash", album="American IV", ids={"mbid": mbid})
    bare = Event.model_validate(  # no album, no ids, no duration: four minutes played
        {"type": "track", "title": "Blue", "artist": "Joni", "watched_ms": 250_000}
        | {"watched_at": at + 600}
    )
    ingest(logged_in_lastfm, [full, bare])
    server = serve(api, Scrobbler())

    run_flush(logged_in_lastfm)

    (params,) = server.calls
    scrobbles = {k: v for k, v in params.items() if "[" in k}
    assert scrobbles == {
        "artist[0]": "Johnny Cash",
        "track[0]": "Hurt",
        "timestamp[0]": str(at),
        "album[0]": "American IV",
        "duration[0]": "200",  # seconds, not milliseconds
        "mbid[0]": mbid,
        "artist[1]": "Joni",
        "track[1]": "Blue",
        "timestamp[1]": str(at + 600),
    }


def test_lastfm_every_scrobble_signature_verifies_with_pylast(
    logged_in_lastfm: Runtime, api: respx.MockRouter, clock: FakeClock
) -> None:
    start = int(clock.now()) - DAY
    # Non-ASCII names and indexes past 9 (artist[10] sorts before artist[1]) in every batch.
    artists = ["Sigur Rós", "Björk", "Motörhead", "AC/DC & Friends", "Артист"]
    events = [
        track(start + 300 * i, f"Tráck {i} ½", artists[i % 5], album=f"Albüm {i % 7}")
        for i in range(120)
    ]
    ingest(logged_in_lastfm, events)
    server = serve(api, Scrobbler())

    run_flush(logged_in_lastfm)

    assert len(server.calls) == 3
    for params in server.calls:
        assert params["api_sig"] == pylast_signature(params, API_KEY, API_SECRET, SESSION_KEY)


# -- per-play outcomes ------------------------------------------------------------------------

FILTERED = "Artist name failed filter: Various"


def test_lastfm_ignored_code_1_is_rejected_with_the_reason_and_the_rest_completed(
    logged_in_lastfm: Runtime, api: respx.MockRouter, clock: FakeClock
) -> None:
    at = int(clock.now()) - 3_600
    ingest(
        logged_in_lastfm,
        [track(at, "One"), track(at + 300, "Two", "Various"), track(at + 600, "Three")],
    )
    serve(api, Scrobbler(answer=answer_by_artist({"Various": (1, FILTERED)})))

    report = run_flush(logged_in_lastfm)

    states = {row["title"]: (row["state"], row["outcome"]) for row in jobs(logged_in_lastfm)}
    reason = f"ignored by Last.fm (code 1: {FILTERED})"
    assert states == {
        "One": (queue.COMPLETED, "sent"),
        "Two": (queue.REJECTED, f"rejected: {reason}"),
        "Three": (queue.COMPLETED, "sent"),
    }
    assert (only(report).sent, only(report).rejected) == (2, [reason])
    assert report.exit_code == ExitCode.FAILED


def test_lastfm_ignored_play_is_never_retried(
    logged_in_lastfm: Runtime, api: respx.MockRouter, clock: FakeClock
) -> None:
    at = int(clock.now()) - 3_600
    ingest(logged_in_lastfm, [track(at, "Two", "Various")])
    server = serve(api, Scrobbler(answer=answer_by_artist({"Various": (1, FILTERED)})))
    run_flush(logged_in_lastfm)

    clock.t += BACKOFF_CAP + DAY  # past any back-off and past midnight
    run_flush(logged_in_lastfm)

    assert len(server.calls) == 1
    ((state, attempt),) = [(row["state"], row["attempt"]) for row in jobs(logged_in_lastfm)]
    assert (state, attempt) == (queue.REJECTED, 1)


def test_lastfm_daily_limit_code_5_releases_the_play_until_next_utc_midnight(
    logged_in_lastfm: Runtime, api: respx.MockRouter, clock: FakeClock
) -> None:
    at = int(clock.now()) - 3_600
    ingest(logged_in_lastfm, [track(at, "One"), track(at + 300, "Capped", "Capped Artist")])
    limit = (5, "Daily scrobble limit exceeded")
    serve(api, Scrobbler(answer=answer_by_artist({"Capped Artist": limit})))

    report = run_flush(logged_in_lastfm)

    rows = {row["title"]: row for row in jobs(logged_in_lastfm)}
    capped = rows["Capped"]
    # Released, not failed: no attempt spent, nothing in the error log, due at midnight UTC.
    assert (capped["state"], capped["attempt"]) == (queue.AVAILABLE, 0)
    assert capped["scheduled_at"] == NEXT_MIDNIGHT
    assert json.loads(capped["errors"]) == []
    assert rows["One"]["state"] == queue.COMPLETED
    assert (only(report).deferred, only(report).deferred_until) == (1, NEXT_MIDNIGHT)
    assert report.exit_code == ExitCode.OK


def test_lastfm_daily_limit_parks_the_rest_of_the_queue_until_midnight(
    logged_in_lastfm: Runtime, api: respx.MockRouter, clock: FakeClock
) -> None:
    queue_tracks(logged_in_lastfm, 120)
    limit = (5, "Daily scrobble limit exceeded")
    server = serve(api, Scrobbler(answer=answer_by_artist({"Artist": limit})))

    run_flush(logged_in_lastfm)
    clock.t += 3_600  # still before midnight
    run_flush(logged_in_lastfm)

    assert server.sizes == [50]  # one answer says the day is over; nothing more is sent
    assert {row["state"] for row in jobs(logged_in_lastfm)} == {queue.AVAILABLE}


# -- the 14-day rule --------------------------------------------------------------------------


def test_lastfm_play_older_than_14_days_is_rejected_locally_without_a_request(
    logged_in_lastfm: Runtime, api: respx.MockRouter, clock: FakeClock
) -> None:
    ingest(logged_in_lastfm, [track(int(clock.now()) - 14 * DAY - 60, "Old")])
    server = serve(api, Scrobbler())

    report = run_flush(logged_in_lastfm)

    assert server.calls == []
    ((state, outcome),) = [(row["state"], row["outcome"]) for row in jobs(logged_in_lastfm)]
    assert state == queue.REJECTED
    assert outcome.startswith("rejected: too old for Last.fm")
    assert only(report).requests == 0
    assert report.exit_code == ExitCode.FAILED


def test_lastfm_play_13_days_old_is_sent(
    logged_in_lastfm: Runtime, api: respx.MockRouter, clock: FakeClock
) -> None:
    at = int(clock.now()) - 13 * DAY
    ingest(logged_in_lastfm, [track(at, "Recent Enough")])
    server = serve(api, Scrobbler())

    report = run_flush(logged_in_lastfm)

    assert [p["timestamp[0]"] for p in server.calls] == [str(at)]
    assert [row["state"] for row in jobs(logged_in_lastfm)] == [queue.COMPLETED]
    assert only(report).sent == 1


# -- response shapes --------------------------------------------------------------------------


def test_lastfm_single_scrobble_answered_with_a_bare_object_is_parsed(
    logged_in_lastfm: Runtime, api: respx.MockRouter, clock: FakeClock
) -> None:
    at = int(clock.now()) - 3_600
    ingest(logged_in_lastfm, [track(at, "Alone")])

    def bare(params: dict[str, str]) -> httpx.Response:
        item = entry(params, 0)  # `scrobble` is the object itself, not a list of one
        attr = {"accepted": 1, "ignored": 0}  # seen as integers as well as strings
        return httpx.Response(200, json={"scrobbles": {"@attr": attr, "scrobble": item}})

    serve(api, Scrobbler(answer=bare))

    report = run_flush(logged_in_lastfm)

    assert [row["state"] for row in jobs(logged_in_lastfm)] == [queue.COMPLETED]
    assert (only(report).sent, only(report).rejected) == (1, [])


# -- error codes (A.8) ------------------------------------------------------------------------


def test_lastfm_error_9_marks_reconnect_required_and_leaves_the_jobs_untouched(
    logged_in_lastfm: Runtime, api: respx.MockRouter
) -> None:
    queue_tracks(logged_in_lastfm, 3)
    serve(api, Scrobbler(error(403, 9, "Invalid session key - Please re-authenticate")))

    report = run_flush(logged_in_lastfm)

    connection = connections.get_connection(logged_in_lastfm.store(), PROFILE, SERVICE)
    assert connection is not None
    assert connection.status == connections.RECONNECT_REQUIRED
    assert "scrobctl login lastfm" in (connection.status_detail or "")
    rows = jobs(logged_in_lastfm)
    assert {(r["state"], r["attempt"], r["errors"]) for r in rows} == {(queue.AVAILABLE, 0, "[]")}
    assert "scrobctl login lastfm" in (only(report).reconnect or "")
    assert report.exit_code == ExitCode.RECONNECT


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        (503, 11, "Service Offline - This service is temporarily offline. Try again later."),
        (500, 16, "The service is temporarily unavailable, please try again."),
    ],
)
def test_lastfm_temporary_errors_are_retried_with_backoff(
    logged_in_lastfm: Runtime,
    api: respx.MockRouter,
    clock: FakeClock,
    status: int,
    code: int,
    message: str,
) -> None:
    queue_tracks(logged_in_lastfm, 3)
    serve(api, Scrobbler(error(status, code, message)))
    now = clock.now()

    report = run_flush(logged_in_lastfm)

    rows = jobs(logged_in_lastfm)
    assert {(r["state"], r["attempt"]) for r in rows} == {(queue.RETRYABLE, 1)}
    for row in rows:
        assert now + BACKOFF_BASE / 2 <= row["scheduled_at"] <= now + BACKOFF_BASE
        assert json.loads(row["errors"])[-1]["error"] == f"error {code}: {message}"
    assert only(report).retry_scheduled == 3
    assert connections.get_connection(logged_in_lastfm.store(), PROFILE, SERVICE).status == "ok"


def test_lastfm_error_29_snoozes_the_batch_without_spending_an_attempt(
    logged_in_lastfm: Runtime, api: respx.MockRouter, clock: FakeClock
) -> None:
    queue_tracks(logged_in_lastfm, 3)
    limited = error(429, 29, "Rate Limit Exceeded - Your IP has made too many requests")
    serve(api, Scrobbler(limited))
    until = clock.now() + RATE_LIMIT_WAIT

    report = run_flush(logged_in_lastfm)

    rows = jobs(logged_in_lastfm)
    assert {(r["state"], r["attempt"], r["scheduled_at"]) for r in rows} == {
        (queue.AVAILABLE, 0, until)
    }
    connection = connections.get_connection(logged_in_lastfm.store(), PROFILE, SERVICE)
    assert connection is not None and connection.deferred_until == until
    assert only(report).deferred_until == until
    assert report.exit_code == ExitCode.OK


def test_lastfm_error_in_a_200_body_counts_as_an_error(
    logged_in_lastfm: Runtime, api: respx.MockRouter
) -> None:
    queue_tracks(logged_in_lastfm, 3)
    serve(api, Scrobbler(error(200, 8, "Operation failed - Most likely the backend service")))

    report = run_flush(logged_in_lastfm)

    rows = jobs(logged_in_lastfm)
    assert {(r["state"], r["attempt"]) for r in rows} == {(queue.RETRYABLE, 1)}
    assert {json.loads(r["errors"])[-1]["error"][:8] for r in rows} == {"error 8:"}
    assert (only(report).sent, only(report).retry_scheduled) == (0, 3)
