"""`scrobctl flush` (DESIGN.md "Queue semantics") end to end: real store, real token file, real
ListenBrainz client, the fake clock, and respx in place of api.listenbrainz.org."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx

from scrobctl.errors import ExitCode, LockHeld
from scrobctl.http import BACKOFF_BASE, BACKOFF_CAP
from scrobctl.lock import exclusive
from scrobctl.runtime import Runtime
from scrobctl.scrobble.enqueue import Ingest
from scrobctl.scrobble.events import Event, Line
from scrobctl.store import connections, queue
from tests.conftest import FakeClock
from tests.helpers import LB_TOKEN, only, run_flush

BASE = "https://api.listenbrainz.org"
SERVICE = "listenbrainz"
PROFILE = "default"
TOKEN = LB_TOKEN
BAD_TRACK = "REJECT-ME"
OK = httpx.Response(200, json={"status": "ok"})


class SubmitListens:
    """The respx side effect for POST /1/submit-listens.

    Answers from `script` in order (then 200), or with `answer(payload)` when given; keeps every
    payload it saw and every listen it accepted, so tests can count what the server took.
    """

    def __init__(
        self,
        *script: httpx.Response,
        answer: Callable[[list[dict[str, Any]]], httpx.Response] | None = None,
    ) -> None:
        self.script = list(script)
        self.answer = answer
        self.payloads: list[list[dict[str, Any]]] = []
        self.accepted: list[dict[str, Any]] = []
        self.authorization: set[str] = set()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.authorization.add(request.headers.get("Authorization", ""))
        payload = json.loads(request.content)["payload"]
        self.payloads.append(payload)
        if self.answer is not None:
            response = self.answer(payload)
        else:
            response = self.script.pop(0) if self.script else OK
        if response.status_code == 200:
            self.accepted.extend(payload)
        return response

    @property
    def sizes(self) -> list[int]:
        return [len(p) for p in self.payloads]

    def accepted_times(self) -> Counter[int]:
        return Counter(listen["listened_at"] for listen in self.accepted)


# -- fixtures and helpers ---------------------------------------------------------------------


def rate_limited(seconds: int) -> httpx.Response:
    """ListenBrainz's 429 asking for a pause of `seconds`."""
    return httpx.Response(429, headers={"Retry-After": str(seconds)}, json={"code": 429})


def serve(lb: respx.MockRouter, server: SubmitListens) -> SubmitListens:
    lb.post("/1/submit-listens").mock(side_effect=server)
    return server


def queue_tracks(runtime: Runtime, count: int, titles: dict[int, str] | None = None) -> list[int]:
    """Queue `count` distinct plays through the real ingest path; returns their listened_at."""
    now = runtime.clock.now()
    start = int(now) - 30 * 86_400
    times = [start + 300 * i for i in range(count)]
    lines = [
        Line(
            i + 1,
            Event(
                type="track",
                artist="Artist",
                title=(titles or {}).get(i, f"Track {i:04d}"),
                duration_ms=200_000,
                watched_ms=200_000,
                watched_at=at,
            ),
        )
        for i, at in enumerate(times)
    ]
    summary = Ingest(runtime.store(), {PROFILE: {"track": [SERVICE]}}, now=now).run(lines)
    assert summary.jobs == {SERVICE: count}
    return times


def insert_track(runtime: Runtime, *, artist: str, title: str, watched_at: int) -> None:
    """Queue a play ingest would never produce (e.g. an empty artist), straight into the tables."""
    now = runtime.clock.now()
    with runtime.store().transaction() as conn:
        item_id = conn.execute(
            "INSERT INTO items (kind, title, artist, created_at) VALUES ('track', ?, ?, ?)",
            (title, artist, now),
        ).lastrowid
        play_id = conn.execute(
            "INSERT INTO plays (profile, item_id, watched_at, source, created_at)"
            " VALUES (?, ?, ?, 'test', ?)",
            (PROFILE, item_id, watched_at, now),
        ).lastrowid
        assert queue.insert_scrobble_job(conn, SERVICE, PROFILE, play_id, now)


def jobs(runtime: Runtime) -> list[sqlite3.Row]:
    return (
        runtime.store()
        .conn.execute(
            "SELECT jobs.*, plays.watched_at, items.title FROM jobs"
            " JOIN plays ON plays.id = jobs.play_id JOIN items ON items.id = plays.item_id"
            " ORDER BY plays.watched_at, jobs.id"
        )
        .fetchall()
    )


# -- batching ---------------------------------------------------------------------------------


def test_flush_sends_2500_listens_in_batches_of_1000_1000_500(
    logged_in_listenbrainz: Runtime, listenbrainz_api: respx.MockRouter
) -> None:
    runtime = logged_in_listenbrainz
    times = queue_tracks(runtime, 2500)
    server = serve(listenbrainz_api, SubmitListens())

    report = run_flush(runtime)

    assert server.sizes == [1000, 1000, 500]
    assert server.accepted_times() == Counter(times)
    assert server.authorization == {f"Token {TOKEN}"}  # from the token store
    assert {row["state"] for row in jobs(runtime)} == {queue.COMPLETED}
    assert (only(report).sent, only(report).requests) == (2500, 3)
    assert report.exit_code == ExitCode.OK


# -- 429 --------------------------------------------------------------------------------------


def test_flush_429_snoozes_the_batch_until_retry_after_without_spending_an_attempt(
    logged_in_listenbrainz: Runtime, listenbrainz_api: respx.MockRouter, clock: FakeClock
) -> None:
    runtime = logged_in_listenbrainz
    queue_tracks(runtime, 2500)
    limited = rate_limited(120)
    serve(listenbrainz_api, SubmitListens(OK, limited))
    until = clock.now() + 120

    report = run_flush(runtime)

    rows = jobs(runtime)
    assert [r["state"] for r in rows[:1000]] == [queue.COMPLETED] * 1000
    snoozed = rows[1000:2000]
    assert {(r["state"], r["attempt"], r["scheduled_at"]) for r in snoozed} == {
        (queue.AVAILABLE, 0, until)
    }
    assert {(r["state"], r["attempt"]) for r in rows[2000:]} == {(queue.AVAILABLE, 0)}
    assert (only(report).sent, only(report).deferred_until) == (1000, until)
    assert report.exit_code == ExitCode.OK


def test_flush_429_defers_the_connection_until_retry_after(
    logged_in_listenbrainz: Runtime, listenbrainz_api: respx.MockRouter, clock: FakeClock
) -> None:
    runtime = logged_in_listenbrainz
    queue_tracks(runtime, 2500)
    limited = rate_limited(120)
    server = serve(listenbrainz_api, SubmitListens(OK, limited))
    run_flush(runtime)

    connection = connections.get_connection(runtime.store(), PROFILE, SERVICE)
    assert connection is not None
    assert connection.deferred_until == clock.now() + 120

    clock.t += 60  # still inside the pause: the service is not asked again
    again = run_flush(runtime)
    assert server.sizes == [1000, 1000]
    assert only(again).deferred_until == connection.deferred_until


def test_flush_after_429_sends_the_rest_once_the_pause_is_over(
    logged_in_listenbrainz: Runtime, listenbrainz_api: respx.MockRouter, clock: FakeClock
) -> None:
    runtime = logged_in_listenbrainz
    times = queue_tracks(runtime, 2500)
    limited = rate_limited(120)
    server = serve(listenbrainz_api, SubmitListens(OK, limited))
    run_flush(runtime)

    clock.t += 120
    report = run_flush(runtime)

    assert server.sizes == [1000, 1000, 1000, 500]
    assert server.accepted_times() == Counter(times)  # every listen exactly once
    assert {row["state"] for row in jobs(runtime)} == {queue.COMPLETED}
    assert {row["attempt"] for row in jobs(runtime)} == {1}
    assert only(report).sent == 1500


def test_flush_waits_out_a_short_429_and_sends_the_batch_in_the_same_run(
    logged_in_listenbrainz: Runtime, listenbrainz_api: respx.MockRouter, clock: FakeClock
) -> None:
    runtime = logged_in_listenbrainz
    times = queue_tracks(runtime, 1500)
    limited = rate_limited(2)
    server = serve(listenbrainz_api, SubmitListens(limited))

    report = run_flush(runtime)

    assert server.sizes == [1000, 1000, 500]
    assert server.accepted_times() == Counter(times)
    assert {(row["state"], row["attempt"]) for row in jobs(runtime)} == {(queue.COMPLETED, 1)}
    assert 2 in clock.slept
    assert (only(report).sent, only(report).deferred_until) == (1500, None)


def test_flush_defers_a_target_that_keeps_answering_short_429s(
    logged_in_listenbrainz: Runtime, listenbrainz_api: respx.MockRouter, clock: FakeClock
) -> None:
    runtime = logged_in_listenbrainz
    queue_tracks(runtime, 1500)
    limited = rate_limited(1)
    server = serve(listenbrainz_api, SubmitListens(answer=lambda _: limited))

    report = run_flush(runtime)

    assert server.sizes == [1000] * 4  # three short waits, then the run ends for this target
    assert {(row["state"], row["attempt"]) for row in jobs(runtime)} == {(queue.AVAILABLE, 0)}
    assert only(report).deferred_until == clock.now() + 1
    assert report.exit_code == ExitCode.OK


# -- 5xx --------------------------------------------------------------------------------------


def test_flush_503_schedules_a_retry_with_backoff_and_stops_sending(
    logged_in_listenbrainz: Runtime, listenbrainz_api: respx.MockRouter, clock: FakeClock
) -> None:
    runtime = logged_in_listenbrainz
    queue_tracks(runtime, 1500)
    unavailable = httpx.Response(503, json={"code": 503, "error": "please try again later"})
    server = serve(listenbrainz_api, SubmitListens(unavailable, OK))
    now = clock.now()

    report = run_flush(runtime)

    assert server.sizes == [1000]  # a struggling service gets no second request this run
    rows = jobs(runtime)
    failed = rows[:1000]
    assert {(r["state"], r["attempt"]) for r in failed} == {(queue.RETRYABLE, 1)}
    for row in failed:
        # first retry: 30 s step with jitter between half and all of it
        assert now + BACKOFF_BASE / 2 <= row["scheduled_at"] <= now + BACKOFF_BASE
        assert json.loads(row["errors"])[-1]["error"].endswith("please try again later")
    assert {(r["state"], r["attempt"]) for r in rows[1000:]} == {(queue.AVAILABLE, 0)}
    assert only(report).retry_scheduled == 1000
    assert only(report).retry_at == min(r["scheduled_at"] for r in failed)


def test_flush_discards_a_job_after_max_attempts(
    logged_in_listenbrainz: Runtime, listenbrainz_api: respx.MockRouter, clock: FakeClock
) -> None:
    runtime = logged_in_listenbrainz
    queue_tracks(runtime, 1)
    unavailable = httpx.Response(503, json={"code": 503, "error": "please try again later"})
    server = serve(listenbrainz_api, SubmitListens(answer=lambda _payload: unavailable))

    for _ in range(queue.MAX_ATTEMPTS - 1):
        report = run_flush(runtime)
        assert report.exit_code == ExitCode.OK
        clock.t += BACKOFF_CAP + 1  # past any back-off
    assert [(r["state"], r["attempt"]) for r in jobs(runtime)] == [
        (queue.RETRYABLE, queue.MAX_ATTEMPTS - 1)
    ]

    report = run_flush(runtime)

    (row,) = jobs(runtime)
    assert (row["state"], row["attempt"]) == (queue.DISCARDED, queue.MAX_ATTEMPTS)
    assert row["outcome"].startswith(f"failed after {queue.MAX_ATTEMPTS} attempts")
    assert only(report).discarded == 1
    assert report.exit_code == ExitCode.FAILED
    assert len(server.payloads) == queue.MAX_ATTEMPTS

    clock.t += BACKOFF_CAP + 1
    run_flush(runtime)
    assert len(server.payloads) == queue.MAX_ATTEMPTS  # discarded jobs are not sent again


# -- 401 --------------------------------------------------------------------------------------


def test_flush_401_marks_reconnect_required_and_keeps_the_jobs(
    logged_in_listenbrainz: Runtime, listenbrainz_api: respx.MockRouter
) -> None:
    runtime = logged_in_listenbrainz
    queue_tracks(runtime, 3)
    refused = httpx.Response(401, json={"code": 401, "error": "Invalid authorization token."})
    serve(listenbrainz_api, SubmitListens(refused))

    report = run_flush(runtime)

    connection = connections.get_connection(runtime.store(), PROFILE, SERVICE)
    assert connection is not None
    assert connection.status == connections.RECONNECT_REQUIRED
    assert "scrobctl login listenbrainz" in (connection.status_detail or "")
    assert {(r["state"], r["attempt"]) for r in jobs(runtime)} == {(queue.AVAILABLE, 0)}
    assert "scrobctl login listenbrainz" in (only(report).reconnect or "")
    assert report.exit_code == ExitCode.RECONNECT


def test_flush_after_401_sends_nothing_until_login(
    logged_in_listenbrainz: Runtime, listenbrainz_api: respx.MockRouter
) -> None:
    runtime = logged_in_listenbrainz
    queue_tracks(runtime, 3)
    refused = httpx.Response(401, json={"code": 401, "error": "Invalid authorization token."})
    server = serve(listenbrainz_api, SubmitListens(refused))
    run_flush(runtime)

    report = run_flush(runtime)

    assert len(server.payloads) == 1
    assert report.exit_code == ExitCode.RECONNECT
    assert {(r["state"], r["attempt"]) for r in jobs(runtime)} == {(queue.AVAILABLE, 0)}


# -- per-listen rejections --------------------------------------------------------------------


def refuse_bad_track(payload: list[dict[str, Any]]) -> httpx.Response:
    """Like ListenBrainz: one bad listen fails the whole request, its keys merged in (B.2)."""
    for listen in payload:
        if listen["track_metadata"]["track_name"] == BAD_TRACK:
            return httpx.Response(
                400, json={**listen, "code": 400, "error": "track_metadata is not acceptable."}
            )
    return OK


def test_flush_400_rejects_only_the_bad_listen_and_sends_the_others(
    logged_in_listenbrainz: Runtime, listenbrainz_api: respx.MockRouter
) -> None:
    runtime = logged_in_listenbrainz
    queue_tracks(runtime, 4, titles={2: BAD_TRACK})
    server = serve(listenbrainz_api, SubmitListens(answer=refuse_bad_track))

    report = run_flush(runtime)

    sent = Counter(listen["track_metadata"]["track_name"] for listen in server.accepted)
    assert sent == Counter({"Track 0000": 1, "Track 0001": 1, "Track 0003": 1})
    states = {row["title"]: (row["state"], row["outcome"]) for row in jobs(runtime)}
    assert states[BAD_TRACK] == (
        queue.REJECTED,
        "rejected: HTTP 400: track_metadata is not acceptable.",
    )
    assert {states[t][0] for t in sent} == {queue.COMPLETED}
    assert (only(report).sent, len(only(report).rejected)) == (3, 1)
    assert report.exit_code == ExitCode.FAILED


def test_flush_rejects_a_locally_invalid_listen_without_a_request(
    logged_in_listenbrainz: Runtime, listenbrainz_api: respx.MockRouter, clock: FakeClock
) -> None:
    runtime = logged_in_listenbrainz
    insert_track(runtime, artist="", title="No Artist", watched_at=int(clock.now()) - 600)
    server = serve(listenbrainz_api, SubmitListens())

    report = run_flush(runtime)

    assert server.payloads == []
    (row,) = jobs(runtime)
    assert row["state"] == queue.REJECTED
    assert row["outcome"] == "rejected: needs both an artist and a track title"
    assert only(report).rejected == ["needs both an artist and a track title"]
    assert report.exit_code == ExitCode.FAILED


# -- crash recovery and the lock --------------------------------------------------------------


def test_flush_sends_jobs_left_running_by_a_killed_run(
    logged_in_listenbrainz: Runtime, listenbrainz_api: respx.MockRouter, clock: FakeClock
) -> None:
    runtime = logged_in_listenbrainz
    times = queue_tracks(runtime, 3)
    with runtime.store().transaction() as conn:  # as a SIGKILL mid-send leaves them
        conn.execute(
            "UPDATE jobs SET state = 'running', run_id = 'dead', attempt = 1, lease_expires_at = ?",
            (clock.now() + queue.LEASE_SECONDS,),
        )
    server = serve(listenbrainz_api, SubmitListens())

    report = run_flush(runtime)

    assert server.accepted_times() == Counter(times)
    assert {row["state"] for row in jobs(runtime)} == {queue.COMPLETED}
    assert only(report).sent == 3


def test_flush_raises_lock_held_when_another_flush_runs(
    logged_in_listenbrainz: Runtime, listenbrainz_api: respx.MockRouter
) -> None:
    runtime = logged_in_listenbrainz
    queue_tracks(runtime, 3)
    server = serve(listenbrainz_api, SubmitListens())

    with exclusive(runtime.lock_path), pytest.raises(LockHeld) as caught:
        run_flush(runtime)

    assert caught.value.exit_code == ExitCode.LOCKED
    assert server.payloads == []
    assert {(r["state"], r["attempt"]) for r in jobs(runtime)} == {(queue.AVAILABLE, 0)}


# -- secrets ----------------------------------------------------------------------------------


def test_flush_never_writes_the_token_into_the_database(
    no_logins: Runtime, listenbrainz_api: respx.MockRouter
) -> None:
    secret = "lb-secret-token-7f3a9c1e"

    def log_in() -> None:
        no_logins.tokens().set(PROFILE, SERVICE, {"token": secret})
        connections.save_login(no_logins.store(), PROFILE, SERVICE, "rob")

    refused = httpx.Response(401, json={"code": 401, "error": "Invalid authorization token."})
    server = serve(listenbrainz_api, SubmitListens(refused, OK))
    log_in()
    queue_tracks(no_logins, 3)
    run_flush(no_logins)  # refused: writes the reconnect detail and releases the jobs
    log_in()
    run_flush(no_logins)  # accepted: writes the history
    assert [p[0]["track_metadata"]["track_name"] for p in server.payloads] == ["Track 0000"] * 2
    assert len(server.accepted) == 3
    no_logins.close()

    database_files = sorted(no_logins.data_dir.glob("scrobctl.db*"))
    assert database_files
    for path in database_files:
        assert secret.encode() not in path.read_bytes(), path.name
    # The token is really kept, in the token file, so the scan above could have found it.
    assert secret in (no_logins.data_dir / "tokens.json").read_text()
