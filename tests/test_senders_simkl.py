"""The Simkl sender under `flush` (api-notes 10.2, 10.4): `POST /sync/history` batches of movies
by ids and shows/seasons/episodes, identification on every request, `not_found` echoed with
string ids, one POST a second, and the `/sync/all-items` look-up before resending a play an
interrupted run may have delivered, against respx in place of api.simkl.com."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any

import httpx
import respx

from scrobctl import __version__
from scrobctl.errors import ExitCode
from scrobctl.http import Limits
from scrobctl.runtime import Runtime
from scrobctl.scrobble.events import Event
from scrobctl.store import connections, queue
from tests.conftest import FakeClock
from tests.helpers import SIMKL_CLIENT_ID as CLIENT_ID
from tests.helpers import SIMKL_TOKEN as TOKEN
from tests.helpers import Endpoint, episode, leave_running, movie, only, queue_plays, run_flush

API = "https://api.simkl.com"
SERVICE = "simkl"
PROFILE = "default"
HOUR = 3_600
DAY = 86_400
SEVERANCE = 371_980  # show tvdb ids
BREAKING_BAD = 81_189
AT = 1_794_903_600  # 2026-11-17T08:20:00Z, a day before FakeClock's start
AT_ISO = "2026-11-17T08:20:00Z"
MATRIX = {"tmdb": 603, "imdb": "tt0133093"}
IDENTIFICATION = {"client_id": CLIENT_ID, "app-name": "scrobctl", "app-version": __version__}


# -- a Simkl stand-in ---------------------------------------------------------------------------


def items_in(body: dict[str, Any]) -> int:
    nested = sum(
        len(season["episodes"]) for show in body.get("shows", []) for season in show["seasons"]
    )
    return len(body.get("movies", [])) + nested


class SyncHistory(Endpoint):
    """The respx side effect for POST /sync/history: keeps each request and when it arrived;
    answers from `script`, then 201 with `added` and whatever `not_found(body)` returns."""

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
        gone = [
            {k: str(v) for k, v in (s.get("ids") or {}).items()} for s in missing.get("shows", [])
        ]
        found_shows = [
            show
            for show in body.get("shows", [])
            if {k: str(v) for k, v in show["ids"].items()} not in gone
        ]
        added = {
            "movies": len(body.get("movies", [])) - len(missing.get("movies", [])),
            "shows": len(found_shows),
            "episodes": items_in({"shows": found_shows}),
            "statuses": [],
        }
        return httpx.Response(
            201, json={"added": added, "not_found": {"movies": [], "shows": [], **missing}}
        )

    @property
    def sizes(self) -> list[int]:
        return [items_in(body) for body in self.bodies]


# -- fixtures and helpers ---------------------------------------------------------------------


def serve(router: respx.MockRouter, server: SyncHistory) -> SyncHistory:
    router.post("/sync/history").mock(side_effect=server)
    return server


def ingest(runtime: Runtime, events: list[Event]) -> None:
    queue_plays(runtime, SERVICE, events)


def queue_many(runtime: Runtime, count: int) -> None:
    start = int(runtime.clock.now()) - (count + 10) * HOUR
    ingest(
        runtime,
        [
            movie(start + HOUR * i, tmdb=10_000 + i)
            if i % 2
            else episode(start + HOUR * i, SEVERANCE, 1 + i // 100, i)
            for i in range(count)
        ],
    )


def jobs(runtime: Runtime) -> list[sqlite3.Row]:
    return (
        runtime.store()
        .conn.execute(
            "SELECT jobs.*, plays.watched_at FROM jobs JOIN plays ON plays.id = jobs.play_id"
            " ORDER BY plays.watched_at, jobs.id"
        )
        .fetchall()
    )


# -- batching and bodies ----------------------------------------------------------------------


def test_simkl_flush_sends_250_plays_in_posts_of_100_100_50(
    logged_in_simkl: Runtime, simkl_api: respx.MockRouter
) -> None:
    queue_many(logged_in_simkl, 250)
    server = serve(simkl_api, SyncHistory())

    report = run_flush(logged_in_simkl)

    assert server.sizes == [100, 100, 50]
    assert {row["state"] for row in jobs(logged_in_simkl)} == {queue.COMPLETED}
    assert (only(report).sent, only(report).requests) == (250, 3)
    assert report.exit_code == ExitCode.OK


def test_simkl_movies_are_sent_by_ids_with_watched_at(
    logged_in_simkl: Runtime, simkl_api: respx.MockRouter
) -> None:
    ingest(logged_in_simkl, [movie(AT, **MATRIX), movie(AT + HOUR, simkl=53_536)])
    server = serve(simkl_api, SyncHistory())

    run_flush(logged_in_simkl)

    assert server.bodies == [
        {
            "movies": [
                {"ids": MATRIX, "watched_at": AT_ISO},
                {"ids": {"simkl": 53_536}, "watched_at": "2026-11-17T09:20:00Z"},
            ]
        }
    ]


def test_simkl_episodes_are_grouped_under_shows_seasons_and_episodes(
    logged_in_simkl: Runtime, simkl_api: respx.MockRouter
) -> None:
    ingest(
        logged_in_simkl,
        [
            episode(AT, SEVERANCE, 1, 1),
            episode(AT + HOUR, BREAKING_BAD, 3, 7),
            episode(AT + 2 * HOUR, SEVERANCE, 1, 2),
            episode(AT + 3 * HOUR, SEVERANCE, 2, 1),
        ],
    )
    server = serve(simkl_api, SyncHistory())

    run_flush(logged_in_simkl)

    def played(n: int, hours: int) -> dict[str, Any]:
        return {"number": n, "watched_at": f"2026-11-17T{8 + hours:02d}:20:00Z"}

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


def test_simkl_every_request_carries_client_id_app_name_and_app_version(
    logged_in_simkl: Runtime, simkl_api: respx.MockRouter, clock: FakeClock
) -> None:
    ingest(logged_in_simkl, [movie(AT, **MATRIX), episode(AT + HOUR, SEVERANCE, 1, 2)])
    leave_running(logged_in_simkl, clock)  # so the look-ups run too
    movies = simkl_api.get("/sync/all-items/movies").respond(200, json={"movies": []})
    shows = simkl_api.get("/sync/all-items/shows").respond(200, content=b"null")  # "nothing"
    anime = simkl_api.get("/sync/all-items/anime").respond(200, content=b"null")
    server = serve(simkl_api, SyncHistory())

    run_flush(logged_in_simkl)

    looked = [movies.calls.last.request, shows.calls.last.request, anime.calls.last.request]
    requests = [*looked, *server.requests]
    assert len(requests) == 4
    for request in requests:
        params = dict(request.url.params)
        assert {k: params.get(k) for k in IDENTIFICATION} == IDENTIFICATION
        assert request.headers["authorization"] == f"Bearer {TOKEN}"


# -- pacing -----------------------------------------------------------------------------------


def test_simkl_consecutive_posts_are_at_least_a_second_apart(
    logged_in_simkl: Runtime, simkl_api: respx.MockRouter, clock: FakeClock
) -> None:
    # The documented limits (1 POST a second), not the lifted ones: this test is about pacing.
    logged_in_simkl.limits = Limits()
    queue_many(logged_in_simkl, 250)
    server = serve(simkl_api, SyncHistory())

    run_flush(logged_in_simkl)

    assert len(server.times) == 3
    # Each POST after the first waits a full second from the answer before it (the runtime's
    # clock, so the test reads what was waited rather than timing itself).
    assert clock.slept == [1.0, 1.0]


# -- per-play outcomes ------------------------------------------------------------------------


def test_simkl_not_found_echoed_with_string_ids_rejects_the_play_sent_with_int_ids(
    logged_in_simkl: Runtime, simkl_api: respx.MockRouter
) -> None:
    ingest(logged_in_simkl, [movie(AT, tmdb=603), movie(AT + HOUR, tmdb=604)])

    def not_found(body: dict[str, Any]) -> dict[str, list]:
        assert body["movies"][0]["ids"] == {"tmdb": 603}  # sent as a number
        return {"movies": [{"ids": {"tmdb": "603"}, "watched_at": AT_ISO}]}  # echoed as text

    serve(simkl_api, SyncHistory(not_found=not_found))

    report = run_flush(logged_in_simkl)

    assert [(row["state"], row["outcome"]) for row in jobs(logged_in_simkl)] == [
        (queue.REJECTED, "rejected: not found on Simkl"),
        (queue.COMPLETED, "sent"),
    ]
    assert (only(report).sent, only(report).rejected) == (1, ["not found on Simkl"])
    assert report.exit_code == ExitCode.FAILED


def test_simkl_show_not_found_rejects_its_episodes_and_completes_the_rest(
    logged_in_simkl: Runtime, simkl_api: respx.MockRouter
) -> None:
    ingest(
        logged_in_simkl,
        [
            episode(AT, SEVERANCE, 1, 1),
            episode(AT + HOUR, BREAKING_BAD, 1, 1),
            episode(AT + 2 * HOUR, SEVERANCE, 1, 2),
        ],
    )
    echoed = {"ids": {"tvdb": str(SEVERANCE)}}
    serve(simkl_api, SyncHistory(not_found=lambda _body: {"shows": [echoed]}))

    run_flush(logged_in_simkl)

    assert [row["outcome"] for row in jobs(logged_in_simkl)] == [
        "rejected: not found on Simkl",
        "sent",
        "rejected: not found on Simkl",
    ]


# -- the look-up before a resend --------------------------------------------------------------


def test_simkl_retried_movie_is_looked_up_in_all_items_movies_since_the_day_before(
    logged_in_simkl: Runtime, simkl_api: respx.MockRouter, clock: FakeClock
) -> None:
    ingest(logged_in_simkl, [movie(AT, **MATRIX)])
    leave_running(logged_in_simkl, clock)
    lookup = simkl_api.get("/sync/all-items/movies").respond(200, json={"movies": []})
    serve(simkl_api, SyncHistory())

    run_flush(logged_in_simkl)

    (call,) = lookup.calls
    params = dict(call.request.url.params)
    assert params["date_from"] == "2026-11-16T08:20:00Z"  # a day before the play
    assert params["episode_watched_at"] == "yes"


def test_simkl_retried_movie_found_in_all_items_completes_without_a_post(
    logged_in_simkl: Runtime, simkl_api: respx.MockRouter, clock: FakeClock
) -> None:
    ingest(logged_in_simkl, [movie(AT, **MATRIX)])
    leave_running(logged_in_simkl, clock)
    entry = {
        "last_watched_at": AT_ISO,
        "status": "completed",
        "movie": {"title": "The Matrix", "year": 1999, "ids": {"simkl": 53_536, "tmdb": "603"}},
    }
    simkl_api.get("/sync/all-items/movies").respond(200, json={"movies": [entry]})
    server = serve(simkl_api, SyncHistory())

    report = run_flush(logged_in_simkl)

    assert server.bodies == []
    assert [(r["state"], r["outcome"]) for r in jobs(logged_in_simkl)] == [
        (queue.COMPLETED, "already on service")
    ]
    assert only(report).already_there == 1


def test_simkl_retried_episode_found_in_all_items_shows_completes_without_a_post(
    logged_in_simkl: Runtime, simkl_api: respx.MockRouter, clock: FakeClock
) -> None:
    ingest(logged_in_simkl, [episode(AT, SEVERANCE, 1, 2)])
    leave_running(logged_in_simkl, clock)
    entry = {
        "status": "watching",
        "last_watched_at": AT_ISO,
        "show": {"title": "Severance", "ids": {"simkl": 1_234, "tvdb": str(SEVERANCE)}},
        "seasons": [
            {
                "number": 1,
                "episodes": [
                    {"number": 1, "watched_at": "2026-11-16T08:20:00Z"},
                    {"number": 2, "watched_at": AT_ISO},
                ],
            }
        ],
    }
    lookup = simkl_api.get("/sync/all-items/shows").respond(200, json={"shows": [entry]})
    server = serve(simkl_api, SyncHistory())

    run_flush(logged_in_simkl)

    assert dict(lookup.calls.last.request.url.params)["episode_watched_at"] == "yes"
    assert server.bodies == []
    assert [r["outcome"] for r in jobs(logged_in_simkl)] == ["already on service"]


def test_simkl_retried_play_missing_from_all_items_is_posted(
    logged_in_simkl: Runtime, simkl_api: respx.MockRouter, clock: FakeClock
) -> None:
    ingest(logged_in_simkl, [movie(AT, **MATRIX)])
    leave_running(logged_in_simkl, clock)
    earlier = {  # the same film, watched on another day: not the play that was cut off
        "last_watched_at": "2026-11-10T20:00:00Z",
        "movie": {"ids": {"tmdb": "603"}},
    }
    simkl_api.get("/sync/all-items/movies").respond(200, json={"movies": [earlier]})
    server = serve(simkl_api, SyncHistory())

    report = run_flush(logged_in_simkl)

    assert server.sizes == [1]
    assert [(r["state"], r["outcome"]) for r in jobs(logged_in_simkl)] == [
        (queue.COMPLETED, "sent")
    ]
    assert (only(report).sent, only(report).already_there) == (1, 0)


# -- errors -----------------------------------------------------------------------------------


def test_simkl_401_marks_reconnect_required_and_keeps_the_jobs(
    logged_in_simkl: Runtime, simkl_api: respx.MockRouter
) -> None:
    ingest(logged_in_simkl, [movie(AT, **MATRIX)])
    refused = httpx.Response(
        401, json={"error": "user_token_failed", "code": 401, "message": "Unauthorized"}
    )
    serve(simkl_api, SyncHistory(refused))

    report = run_flush(logged_in_simkl)

    connection = connections.get_connection(logged_in_simkl.store(), PROFILE, SERVICE)
    assert connection is not None and connection.status == connections.RECONNECT_REQUIRED
    assert {(r["state"], r["attempt"]) for r in jobs(logged_in_simkl)} == {(queue.AVAILABLE, 0)}
    assert report.exit_code == ExitCode.RECONNECT


# -- the look-up asks for what it needs (SIMKL/API apiary.apib "Get All Items"; issue #15) ------


def test_simkl_lookup_asks_all_items_with_extended_full_and_episode_times(
    logged_in_simkl: Runtime, simkl_api: respx.MockRouter, clock: FakeClock
) -> None:
    ingest(logged_in_simkl, [episode(AT, SEVERANCE, 1, 2)])
    leave_running(logged_in_simkl, clock)
    shows = simkl_api.get("/sync/all-items/shows").respond(200, content=b"null")
    simkl_api.get("/sync/all-items/anime").respond(200, content=b"null")
    serve(simkl_api, SyncHistory())

    run_flush(logged_in_simkl)

    params = dict(shows.calls.last.request.url.params)
    assert (params["extended"], params["episode_watched_at"]) == ("full", "yes")


def test_simkl_retried_episode_filed_as_anime_completes_without_a_post(
    logged_in_simkl: Runtime, simkl_api: respx.MockRouter, clock: FakeClock
) -> None:
    ingest(logged_in_simkl, [episode(AT, SEVERANCE, 1, 2)])
    leave_running(logged_in_simkl, clock)
    entry = {
        "status": "watching",
        "anime_type": "tv",
        "show": {"title": "Severance", "ids": {"simkl": 1_234, "tvdb": str(SEVERANCE)}},
        "seasons": [{"number": 1, "episodes": [{"number": 2, "watched_at": AT_ISO}]}],
    }
    simkl_api.get("/sync/all-items/shows").respond(200, content=b"null")
    simkl_api.get("/sync/all-items/anime").respond(200, json={"anime": [entry]})
    server = serve(simkl_api, SyncHistory())

    run_flush(logged_in_simkl)

    assert server.bodies == []
    assert [r["outcome"] for r in jobs(logged_in_simkl)] == ["already on service"]
