"""The Trakt sender under `flush` (api-notes 4.2, 7; DESIGN.md "Queue semantics"): batched
`POST /sync/history`, one POST a second, `not_found` per play, the look-up before resending a play
an interrupted run may have delivered, account errors, 401 and the token refresh, against respx
in place of api.trakt.tv and auth.trakt.tv."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx

from scrobctl import __version__
from scrobctl.errors import ExitCode
from scrobctl.http import BACKOFF_CAP, Limits
from scrobctl.runtime import Runtime
from scrobctl.scrobble.events import Event
from scrobctl.store import connections, queue
from tests.conftest import FakeClock
from tests.helpers import TRAKT_ACCESS as ACCESS
from tests.helpers import (
    TRAKT_APP,
    Endpoint,
    episode,
    leave_running,
    movie,
    only,
    queue_plays,
    run_flush,
    trakt_token_set,
)
from tests.helpers import TRAKT_REFRESH as REFRESH

API = "https://api.trakt.tv"
AUTH = "https://auth.trakt.tv"
SERVICE = "trakt"
PROFILE = "default"
CLIENT_ID, CLIENT_SECRET = TRAKT_APP["client_id"], TRAKT_APP["client_secret"]
WEEK = 7 * 86_400
HOUR = 3_600
SEVERANCE = 371_980  # show tvdb ids
BREAKING_BAD = 81_189
AT = 1_794_903_600  # 2026-11-17T08:20:00Z, a day before FakeClock's start
AT_ISO = "2026-11-17T08:20:00.000Z"
MATRIX = {"tmdb": 603, "imdb": "tt0133093"}


# -- a Trakt stand-in ---------------------------------------------------------------------------


def items_in(body: dict[str, Any]) -> int:
    """Plays in one /sync/history body: movies, episodes and the episodes nested in shows."""
    nested = sum(
        len(season["episodes"]) for show in body.get("shows", []) for season in show["seasons"]
    )
    return len(body.get("movies", [])) + len(body.get("episodes", [])) + nested


class SyncHistory(Endpoint):
    """The respx side effect for POST /sync/history: keeps each body and when it arrived; answers
    from `script` in order, then 201 with `added` and whatever `not_found(body)` echoes."""

    def __init__(
        self,
        *script: httpx.Response,
        not_found: Callable[[dict[str, Any]], dict[str, list]] | None = None,
    ) -> None:
        super().__init__(self.sync, *script)
        self.not_found = not_found

    def sync(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        missing = self.not_found(body) if self.not_found else {}
        added = {
            "movies": len(body.get("movies", [])) - len(missing.get("movies", [])),
            "episodes": items_in(body)
            - len(body.get("movies", []))
            - len(missing.get("episodes", [])),
        }
        return httpx.Response(
            201,
            json={
                "added": added,
                "updated": {"movies": 0, "episodes": 0},
                "not_found": {"movies": [], "shows": [], "seasons": [], "episodes": [], **missing},
            },
        )

    @property
    def sizes(self) -> list[int]:
        return [items_in(body) for body in self.bodies]


def history_entry(watched_at: str, **media: Any) -> dict[str, Any]:
    kind = "movie" if "movie" in media else "episode"
    return {"id": 1_982_346, "watched_at": watched_at, "action": "scrobble", "type": kind, **media}


# -- fixtures and helpers ---------------------------------------------------------------------


def serve(router: respx.MockRouter, server: SyncHistory) -> SyncHistory:
    router.post(f"{API}/sync/history").mock(side_effect=server)
    return server


def ingest(runtime: Runtime, events: list[Event]) -> None:
    queue_plays(runtime, SERVICE, events)


def queue_300(runtime: Runtime) -> None:
    """Movies, episodes with their own ids and episodes known only by show, in turn."""
    start = int(runtime.clock.now()) - 400 * HOUR
    events = []
    for i in range(300):
        at = start + HOUR * i
        if i % 3 == 0:
            events.append(movie(at, tmdb=10_000 + i))
        elif i % 3 == 1:
            events.append(episode(at, SEVERANCE, 1, i, trakt=50_000 + i, tvdb=70_000 + i))
        else:
            events.append(episode(at, BREAKING_BAD, 1 + i // 100, i))
    ingest(runtime, events)


def jobs(runtime: Runtime) -> list[sqlite3.Row]:
    return (
        runtime.store()
        .conn.execute(
            "SELECT jobs.*, plays.watched_at, plays.item_id AS played_item FROM jobs"
            " JOIN plays ON plays.id = jobs.play_id ORDER BY plays.watched_at, jobs.id"
        )
        .fetchall()
    )


# -- batching and bodies ----------------------------------------------------------------------


def test_trakt_flush_sends_300_plays_in_three_posts_of_100(
    logged_in_trakt: Runtime, api: respx.MockRouter
) -> None:
    queue_300(logged_in_trakt)
    server = serve(api, SyncHistory())

    report = run_flush(logged_in_trakt)

    assert server.sizes == [100, 100, 100]
    assert {row["state"] for row in jobs(logged_in_trakt)} == {queue.COMPLETED}
    assert (only(report).sent, only(report).requests) == (300, 3)
    assert report.exit_code == ExitCode.OK


def test_trakt_movies_are_sent_by_ids_with_watched_at_in_utc_milliseconds(
    logged_in_trakt: Runtime, api: respx.MockRouter
) -> None:
    ingest(logged_in_trakt, [movie(AT, **MATRIX), movie(AT + 4 * HOUR, trakt=481)])
    server = serve(api, SyncHistory())

    run_flush(logged_in_trakt)

    assert server.bodies == [
        {
            "movies": [
                {"ids": MATRIX, "watched_at": AT_ISO},
                {"ids": {"trakt": 481}, "watched_at": "2026-11-17T12:20:00.000Z"},
            ]
        }
    ]


def test_trakt_episodes_with_their_own_ids_are_sent_by_those_ids(
    logged_in_trakt: Runtime, api: respx.MockRouter
) -> None:
    ingest(logged_in_trakt, [episode(AT, SEVERANCE, 1, 2, trakt=7_362_314, tvdb=8_870_155, tmdb=1)])
    server = serve(api, SyncHistory())

    run_flush(logged_in_trakt)

    # Trakt's contracts take only trakt or tvdb ids for an episode; the show is not needed.
    assert server.bodies == [
        {"episodes": [{"ids": {"trakt": 7_362_314, "tvdb": 8_870_155}, "watched_at": AT_ISO}]}
    ]


def test_trakt_episodes_without_their_own_ids_are_grouped_under_shows_and_seasons(
    logged_in_trakt: Runtime, api: respx.MockRouter
) -> None:
    ingest(
        logged_in_trakt,
        [
            episode(AT, SEVERANCE, 1, 1),
            episode(AT + HOUR, BREAKING_BAD, 3, 7),
            episode(AT + 2 * HOUR, SEVERANCE, 1, 2),
            episode(AT + 3 * HOUR, SEVERANCE, 2, 1),
        ],
    )
    server = serve(api, SyncHistory())

    run_flush(logged_in_trakt)

    def played(n: int, hours: int) -> dict[str, Any]:
        return {"number": n, "watched_at": f"2026-11-17T{8 + hours:02d}:20:00.000Z"}

    assert server.bodies == [
        {
            "shows": [
                {
                    "ids": {"tvdb": SEVERANCE},
                    "seasons": [
                        {"number": 1, "episodes": [played(1, 0), played(2, 2)]},
                        {"number": 2, "episodes": [played(1, 3)]},
                    ],
                },
                {
                    "ids": {"tvdb": BREAKING_BAD},
                    "seasons": [{"number": 3, "episodes": [played(7, 1)]}],
                },
            ]
        }
    ]


def test_trakt_requests_carry_the_required_headers(
    logged_in_trakt: Runtime, api: respx.MockRouter
) -> None:
    ingest(logged_in_trakt, [movie(AT, **MATRIX)])
    server = serve(api, SyncHistory())

    run_flush(logged_in_trakt)

    (request,) = server.requests
    assert request.headers["trakt-api-key"] == CLIENT_ID
    assert request.headers["trakt-api-version"] == "2"
    assert request.headers["authorization"] == f"Bearer {ACCESS}"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == f"scrobctl/{__version__}"


# -- pacing -----------------------------------------------------------------------------------


def test_trakt_consecutive_posts_are_at_least_a_second_apart(
    logged_in_trakt: Runtime, api: respx.MockRouter, clock: FakeClock
) -> None:
    # The documented limits (1 POST a second), not the lifted ones: this test is about pacing.
    logged_in_trakt.limits = Limits()
    queue_300(logged_in_trakt)
    server = serve(api, SyncHistory())

    run_flush(logged_in_trakt)

    assert len(server.times) == 3
    # Each POST after the first waits a full second from the answer before it (the runtime's
    # clock, so the test reads what was waited rather than timing itself).
    assert clock.slept == [1.0, 1.0]


# -- per-play outcomes ------------------------------------------------------------------------


def test_trakt_not_found_items_are_rejected_and_the_rest_completed(
    logged_in_trakt: Runtime, api: respx.MockRouter
) -> None:
    ingest(
        logged_in_trakt,
        [
            movie(AT, **MATRIX),
            movie(AT + HOUR, tmdb=999_999_999),
            episode(AT + 2 * HOUR, SEVERANCE, 1, 2, tvdb=1),
            episode(AT + 3 * HOUR, BREAKING_BAD, 1, 1),
        ],
    )

    def not_found(body: dict[str, Any]) -> dict[str, list]:
        # Trakt echoes the unmatched input objects.
        return {
            "movies": [m for m in body["movies"] if m["ids"] == {"tmdb": 999_999_999}],
            "episodes": [e for e in body["episodes"] if e["ids"] == {"tvdb": 1}],
        }

    serve(api, SyncHistory(not_found=not_found))

    report = run_flush(logged_in_trakt)

    outcomes = [(row["state"], row["outcome"]) for row in jobs(logged_in_trakt)]
    assert outcomes == [
        (queue.COMPLETED, "sent"),
        (queue.REJECTED, "rejected: not found on Trakt"),
        (queue.REJECTED, "rejected: not found on Trakt"),
        (queue.COMPLETED, "sent"),
    ]
    assert only(report).rejected == ["not found on Trakt"] * 2
    assert report.exit_code == ExitCode.FAILED


def test_trakt_play_already_imported_completes_without_a_post(
    logged_in_trakt: Runtime, api: respx.MockRouter, clock: FakeClock
) -> None:
    ingest(logged_in_trakt, [movie(AT, **MATRIX)])
    (row,) = jobs(logged_in_trakt)
    with (
        logged_in_trakt.store().transaction() as conn
    ):  # an import from Trakt ran after it was queued
        conn.execute(
            "INSERT INTO scrobbles (profile, service, item_id, scrobbled_at, source, recorded_at)"
            " VALUES (?, ?, ?, ?, 'import', ?)",
            (PROFILE, SERVICE, row["played_item"], AT, clock.now()),
        )
    server = serve(api, SyncHistory())

    report = run_flush(logged_in_trakt)

    assert server.bodies == []
    assert [(r["state"], r["outcome"]) for r in jobs(logged_in_trakt)] == [
        (queue.COMPLETED, "already on service")
    ]
    assert (only(report).already_there, only(report).sent) == (1, 0)


def test_trakt_retried_play_is_looked_up_in_history_around_its_time(
    logged_in_trakt: Runtime, api: respx.MockRouter, clock: FakeClock
) -> None:
    ingest(logged_in_trakt, [movie(AT, **MATRIX)])
    leave_running(logged_in_trakt, clock)
    lookup = api.get(f"{API}/sync/history").respond(200, json=[])
    serve(api, SyncHistory())

    run_flush(logged_in_trakt)

    (call,) = lookup.calls
    assert dict(call.request.url.params) == {
        "start_at": "2026-11-17T08:19:00.000Z",
        "end_at": "2026-11-17T08:21:00.000Z",
        "page": "1",
        "limit": "250",
    }


def test_trakt_retried_play_found_in_history_completes_without_a_post(
    logged_in_trakt: Runtime, api: respx.MockRouter, clock: FakeClock
) -> None:
    ingest(logged_in_trakt, [movie(AT, **MATRIX)])
    leave_running(logged_in_trakt, clock)
    echoed = {"title": "The Matrix", "year": 1999, "ids": {"trakt": 481, "tmdb": 603}}
    api.get(f"{API}/sync/history").respond(
        200,
        json=[history_entry(AT_ISO, movie=echoed)],
        headers={"X-Pagination-Page-Count": "1"},
    )
    server = serve(api, SyncHistory())

    report = run_flush(logged_in_trakt)

    assert server.bodies == []
    assert [(r["state"], r["outcome"]) for r in jobs(logged_in_trakt)] == [
        (queue.COMPLETED, "already on service")
    ]
    assert only(report).already_there == 1


def test_trakt_retried_episode_found_by_show_season_and_number_completes_without_a_post(
    logged_in_trakt: Runtime, api: respx.MockRouter, clock: FakeClock
) -> None:
    ingest(logged_in_trakt, [episode(AT, SEVERANCE, 1, 2)])
    leave_running(logged_in_trakt, clock)
    api.get(f"{API}/sync/history").respond(
        200,
        json=[
            history_entry(
                AT_ISO,
                episode={"season": 1, "number": 2, "ids": {"trakt": 7_362_314}},
                show={"title": "Severance", "ids": {"trakt": 154_997, "tvdb": SEVERANCE}},
            )
        ],
    )
    server = serve(api, SyncHistory())

    run_flush(logged_in_trakt)

    assert server.bodies == []
    assert [r["outcome"] for r in jobs(logged_in_trakt)] == ["already on service"]


def test_trakt_retried_play_missing_from_history_is_posted(
    logged_in_trakt: Runtime, api: respx.MockRouter, clock: FakeClock
) -> None:
    ingest(logged_in_trakt, [movie(AT, **MATRIX)])
    leave_running(logged_in_trakt, clock)
    # The same film, but another play (a minute later): not the one that was cut off.
    other = history_entry("2026-11-17T08:21:00.000Z", movie={"ids": {"tmdb": 603}})
    api.get(f"{API}/sync/history").respond(200, json=[other])
    server = serve(api, SyncHistory())

    report = run_flush(logged_in_trakt)

    assert server.sizes == [1]
    assert [(r["state"], r["outcome"]) for r in jobs(logged_in_trakt)] == [
        (queue.COMPLETED, "sent")
    ]
    assert (only(report).sent, only(report).already_there) == (1, 0)


def test_trakt_play_retried_after_a_503_is_looked_up_before_it_is_posted_again(
    logged_in_trakt: Runtime, api: respx.MockRouter, clock: FakeClock
) -> None:
    ingest(logged_in_trakt, [movie(AT, **MATRIX)])
    # Trakt stored the play, then its gateway answered 503: the first attempt may have landed.
    server = serve(api, SyncHistory(httpx.Response(503, json={"error": "unavailable"})))
    stored = history_entry(AT_ISO, movie={"ids": {"tmdb": 603}})
    lookup = api.get(f"{API}/sync/history").respond(200, json=[stored])
    run_flush(logged_in_trakt)
    assert [r["state"] for r in jobs(logged_in_trakt)] == [queue.RETRYABLE]

    clock.t += BACKOFF_CAP + 1
    run_flush(logged_in_trakt)

    assert len(server.bodies) == 1  # never posted twice
    assert lookup.call_count == 1
    assert [(r["state"], r["outcome"]) for r in jobs(logged_in_trakt)] == [
        (queue.COMPLETED, "already on service")
    ]


def test_trakt_second_flush_after_success_posts_nothing(
    logged_in_trakt: Runtime, api: respx.MockRouter, clock: FakeClock
) -> None:
    ingest(logged_in_trakt, [movie(AT, **MATRIX), episode(AT + HOUR, SEVERANCE, 1, 2)])
    lookup = api.get(f"{API}/sync/history").respond(200, json=[])
    server = serve(api, SyncHistory())
    run_flush(logged_in_trakt)

    clock.t += BACKOFF_CAP + 1
    report = run_flush(logged_in_trakt)

    assert server.sizes == [2]
    assert lookup.calls.call_count == 0
    assert report.services == []  # nothing was due


# -- errors -----------------------------------------------------------------------------------

ACCOUNT_ERRORS = [
    pytest.param(
        420,
        {"X-Upgrade-URL": "https://trakt.tv/vip", "X-VIP-User": "false"},
        "over its limit",
        id="420-account-limit",
    ),
    pytest.param(423, {"X-Account-Locked": "true"}, "locked", id="423-locked"),
    pytest.param(426, {"X-Upgrade-URL": "https://trakt.tv/vip"}, "needs Trakt VIP", id="426-vip"),
]


@pytest.mark.parametrize(("status", "headers", "message"), ACCOUNT_ERRORS)
def test_trakt_account_error_is_recorded_with_a_clear_message(
    logged_in_trakt: Runtime,
    api: respx.MockRouter,
    status: int,
    headers: dict[str, str],
    message: str,
) -> None:
    ingest(logged_in_trakt, [movie(AT, **MATRIX)])
    serve(api, SyncHistory(httpx.Response(status, headers=headers)))

    report = run_flush(logged_in_trakt)

    connection = connections.get_connection(logged_in_trakt.store(), "default", "trakt")
    assert connection is not None
    assert connection.status == connections.ATTENTION_REQUIRED
    assert message in (connection.status_detail or "")
    assert message in (only(report).attention or "")
    assert report.exit_code == ExitCode.FAILED
    if "X-Upgrade-URL" in headers and status == 420:
        assert "https://trakt.tv/vip" in (only(report).attention or "")


@pytest.mark.parametrize(("status", "headers", "message"), ACCOUNT_ERRORS)
def test_trakt_account_error_is_not_retried_as_transient(
    logged_in_trakt: Runtime,
    api: respx.MockRouter,
    clock: FakeClock,
    status: int,
    headers: dict[str, str],
    message: str,
) -> None:
    ingest(logged_in_trakt, [movie(AT, **MATRIX)])
    server = serve(api, SyncHistory(httpx.Response(status, headers=headers)))
    run_flush(logged_in_trakt)
    (row,) = jobs(logged_in_trakt)
    assert row["state"] != queue.RETRYABLE

    clock.t += BACKOFF_CAP + 1  # past any back-off
    run_flush(logged_in_trakt)

    assert len(server.bodies) == 1


def test_trakt_401_marks_reconnect_required_and_keeps_the_jobs(
    logged_in_trakt: Runtime, api: respx.MockRouter
) -> None:
    ingest(logged_in_trakt, [movie(AT, **MATRIX), episode(AT + HOUR, SEVERANCE, 1, 2)])
    refused = httpx.Response(401, json={"error": "invalid_token"})
    serve(api, SyncHistory(refused, refused))
    # Should the sender try one refresh first, Trakt refuses that too (a revoked app).
    api.post(f"{AUTH}/oauth/token").respond(401, json={"error": "invalid_grant"})

    report = run_flush(logged_in_trakt)

    connection = connections.get_connection(logged_in_trakt.store(), PROFILE, SERVICE)
    assert connection is not None
    assert connection.status == connections.RECONNECT_REQUIRED
    assert "scrobctl login trakt" in (connection.status_detail or "")
    assert {(r["state"], r["attempt"], r["errors"]) for r in jobs(logged_in_trakt)} == {
        (queue.AVAILABLE, 0, "[]")
    }
    assert report.exit_code == ExitCode.RECONNECT


def test_trakt_token_within_the_refresh_margin_is_refreshed_before_the_post(
    logged_in_trakt: Runtime, api: respx.MockRouter, clock: FakeClock
) -> None:
    created = int(clock.now()) - WEEK + 60  # one minute left
    logged_in_trakt.tokens().set(PROFILE, SERVICE, trakt_token_set("old-access", created, REFRESH))
    fresh = trakt_token_set("fresh-access", int(clock.now()), refresh="fresh-refresh")
    order: list[str] = []

    def refreshed(request: httpx.Request) -> httpx.Response:
        order.append("refresh")
        assert json.loads(request.content)["refresh_token"] == REFRESH
        return httpx.Response(200, json=fresh)

    api.post(f"{AUTH}/oauth/token").mock(side_effect=refreshed)
    server = SyncHistory()

    def posted(request: httpx.Request) -> httpx.Response:
        order.append("post")
        return server(request)

    api.post(f"{API}/sync/history").mock(side_effect=posted)
    ingest(logged_in_trakt, [movie(AT, **MATRIX)])

    run_flush(logged_in_trakt)

    assert order == ["refresh", "post"]
    assert server.requests[0].headers["authorization"] == "Bearer fresh-access"
    assert logged_in_trakt.tokens().get(PROFILE, SERVICE) == fresh
