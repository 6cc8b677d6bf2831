"""The rating senders under `flush`: Trakt and Simkl `POST /sync/ratings` in batches of 100
(api-notes 5, 10.3), Last.fm `track.love` one signed POST a track (A.7), ListenBrainz
`POST /1/feedback/recording-feedback` one recording a request (B.7); and the service errors
handled as for scrobbles: 429 snoozes without spending an attempt, 5xx backs off, refused
credentials mark the connection "reconnect required". respx stands in for all four services.

The jobs are queued the real way: plays ingested, rated, then `export_ratings`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx

from scrobctl import __version__
from scrobctl.errors import ExitCode
from scrobctl.http import BACKOFF_BASE
from scrobctl.runtime import Runtime
from scrobctl.scrobble.enqueue import Ingest
from scrobctl.scrobble.events import Event, Line
from scrobctl.services.lastfm import RATE_LIMIT_WAIT
from scrobctl.store import connections, queue
from scrobctl.store.ratings import set_rating
from scrobctl.sync.export import export_ratings
from tests.conftest import FakeClock
from tests.helpers import (
    LASTFM_APP,
    LASTFM_SESSION,
    LB_TOKEN,
    SIMKL_CLIENT_ID,
    SIMKL_TOKEN,
    TRAKT_ACCESS,
    TRAKT_APP,
    Endpoint,
    only,
    pylast_signature,
    run_flush,
    trakt_token_set,
)

PROFILE = "default"
DAY = 86_400
WEEK = 7 * DAY
START = 1_795_000_000  # FakeClock's start
RATED_AT = 1_794_903_600  # 2026-11-17T08:20:00Z
RATED_TRAKT = "2026-11-17T08:20:00.000Z"
RATED_SIMKL = "2026-11-17T08:20:00Z"

TRAKT_API = "https://api.trakt.tv"
TRAKT_AUTH = "https://auth.trakt.tv"
SIMKL_API = "https://api.simkl.com"
LASTFM_API = "https://ws.audioscrobbler.com/2.0/"
LB_API = "https://api.listenbrainz.org"

ENDPOINTS = {
    "trakt": f"{TRAKT_API}/sync/ratings",
    "simkl": f"{SIMKL_API}/sync/ratings",
    "lastfm": LASTFM_API,
    "listenbrainz": f"{LB_API}/1/feedback/recording-feedback",
}
MATRIX = {"tmdb": 603, "imdb": "tt0133093"}
UNKNOWN_TMDB = 999_999_999


# -- stand-ins ----------------------------------------------------------------------------------


def sync_ratings(unknown: set[str] = frozenset()) -> Callable[[httpx.Request], httpx.Response]:
    """Trakt's and Simkl's 201: counts added, and the items whose tmdb id is in `unknown`
    echoed under not_found (Simkl with string ids, as it writes them)."""

    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        simkl = request.url.host == "api.simkl.com"
        added: dict[str, int] = {}
        not_found: dict[str, list[Any]] = {"movies": [], "shows": []}
        if not simkl:
            not_found.update(seasons=[], episodes=[])
        for kind, items in body.items():
            for item in items:
                if str(item["ids"].get("tmdb")) in unknown:
                    echoed = dict(item)
                    if simkl:
                        echoed["ids"] = {k: str(v) for k, v in item["ids"].items()}
                    not_found[kind].append(echoed)
                else:
                    added[kind] = added.get(kind, 0) + 1
        return httpx.Response(201, json={"added": added, "not_found": not_found})

    return answer


def lastfm_ok(_request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={})


def lb_ok(_request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"status": "ok"})


OK_ANSWERS: dict[str, Callable[[httpx.Request], httpx.Response]] = {
    "trakt": sync_ratings(),
    "simkl": sync_ratings(),
    "lastfm": lastfm_ok,
    "listenbrainz": lb_ok,
}


# -- fixtures and helpers -----------------------------------------------------------------------


def serve(router: respx.MockRouter, service: str, *script: httpx.Response, **kw: Any) -> Endpoint:
    answer = sync_ratings(**kw) if kw else OK_ANSWERS[service]
    endpoint = Endpoint(answer, *script)
    router.post(ENDPOINTS[service]).mock(side_effect=endpoint)
    return endpoint


def movie(tmdb: int, **ids: Any) -> dict[str, Any]:
    return {"type": "movie", "title": f"Movie {tmdb}", "ids": {"tmdb": tmdb, **ids}}


def episode(number: int, **ids: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "episode",
        "title": f"Episode {number}",
        "show": {"title": "Severance", "ids": {"tvdb": 371_980, "tmdb": 95_396}},
        "season": 1,
        "number": number,
    }
    if ids:
        event["ids"] = ids
    return event


def song(title: str, mbid: str | None = None, artist: str = "Johnny Cash") -> dict[str, Any]:
    event: dict[str, Any] = {"type": "track", "title": title, "artist": artist}
    if mbid:
        event["ids"] = {"mbid": mbid}
    return event


def mbid(i: int) -> str:
    return f"00000000-0000-4000-8000-{i:012d}"


def record_plays(runtime: Runtime, events: list[dict[str, Any]]) -> None:
    """A finished play of each item, an hour or more before RATED_AT (no service routes)."""
    lines = []
    for i, fields in enumerate(events):
        if fields["type"] == "track":
            played = {"duration_ms": 200_000, "watched_ms": 200_000}
        else:
            played = {"duration_ms": 3_000_000, "percentage": 95}
        event = Event.model_validate({**fields, **played, "watched_at": RATED_AT - 3_600 - i})
        lines.append(Line(i + 1, event))
    Ingest(runtime.store(), {}, now=runtime.clock.now()).run(lines)


def rate_and_export(
    runtime: Runtime, service: str, rated: list[tuple[dict[str, Any], float]]
) -> None:
    """Play each item (shows: their item must exist), rate it at RATED_AT, queue the export."""
    record_plays(runtime, [fields for fields, _ in rated if fields["type"] != "show"])
    with runtime.store().transaction() as conn:
        for fields, value in rated:
            set_rating(conn, PROFILE, _item_id(conn, fields), value, RATED_AT)
    summary = export_ratings(runtime, service, PROFILE)
    assert (summary.queued, summary.skipped) == (len(rated), [])


def _item_id(conn: Any, fields: dict[str, Any]) -> int:
    if fields["type"] == "track":
        row = conn.execute(
            "SELECT id FROM items WHERE kind = 'track' AND title = ?", (fields["title"],)
        ).fetchone()
    elif "ids" in fields:
        name, value = next(iter(fields["ids"].items()))
        row = conn.execute(
            f"SELECT id FROM items WHERE kind = ? AND {name} = ?", (fields["type"], value)
        ).fetchone()
    else:
        row = conn.execute(
            "SELECT id FROM items WHERE kind = 'episode' AND number = ?", (fields["number"],)
        ).fetchone()
    return int(row[0])


def jobs(runtime: Runtime) -> list[Any]:
    return (
        runtime.store()
        .conn.execute("SELECT * FROM jobs WHERE kind = 'rating' ORDER BY id")
        .fetchall()
    )


def outcomes(runtime: Runtime) -> list[tuple[str, str | None]]:
    return [(r["state"], r["outcome"]) for r in jobs(runtime)]


# -- Trakt --------------------------------------------------------------------------------------


def test_trakt_ratings_go_in_posts_of_100(
    logged_in_everywhere: Runtime, api: respx.MockRouter
) -> None:
    rate_and_export(
        logged_in_everywhere, "trakt", [(movie(10_000 + i), 1 + i % 10) for i in range(250)]
    )
    server = serve(api, "trakt")

    report = run_flush(logged_in_everywhere)

    assert [len(body["movies"]) for body in server.bodies] == [100, 100, 50]
    assert {r["state"] for r in jobs(logged_in_everywhere)} == {queue.COMPLETED}
    assert (only(report).sent, only(report).requests) == (250, 3)
    assert report.exit_code == ExitCode.OK


def test_trakt_rating_body_has_integer_ratings_ids_and_rated_at(
    logged_in_everywhere: Runtime, api: respx.MockRouter
) -> None:
    rate_and_export(
        logged_in_everywhere,
        "trakt",
        [(movie(603, imdb="tt0133093"), 7.5), (episode(2, tvdb=8_870_155, tmdb=1_876_543), 9)],
    )
    server = serve(api, "trakt")

    run_flush(logged_in_everywhere)

    (body,) = server.bodies
    assert body == {
        "movies": [{"ids": MATRIX, "rating": 8, "rated_at": RATED_TRAKT}],
        # Trakt matches an episode by its trakt or tvdb id; the tmdb id is not sent.
        "episodes": [{"ids": {"tvdb": 8_870_155}, "rating": 9, "rated_at": RATED_TRAKT}],
    }
    ratings = [item["rating"] for items in body.values() for item in items]
    assert all(type(value) is int for value in ratings)  # 8, not 8.0


def test_trakt_rating_requests_carry_the_required_headers(
    logged_in_everywhere: Runtime, api: respx.MockRouter
) -> None:
    rate_and_export(logged_in_everywhere, "trakt", [(movie(603), 8)])
    server = serve(api, "trakt")

    run_flush(logged_in_everywhere)

    (request,) = server.requests
    assert request.headers["trakt-api-key"] == TRAKT_APP["client_id"]
    assert request.headers["trakt-api-version"] == "2"
    assert request.headers["authorization"] == f"Bearer {TRAKT_ACCESS}"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == f"scrobctl/{__version__}"


def test_trakt_not_found_ratings_are_rejected_and_the_rest_completed(
    logged_in_everywhere: Runtime, api: respx.MockRouter
) -> None:
    rate_and_export(
        logged_in_everywhere, "trakt", [(movie(603), 8), (movie(UNKNOWN_TMDB), 6), (movie(604), 7)]
    )
    serve(api, "trakt", unknown={str(UNKNOWN_TMDB)})

    report = run_flush(logged_in_everywhere)

    assert outcomes(logged_in_everywhere) == [
        (queue.COMPLETED, "sent"),
        (queue.REJECTED, "rejected: not found on Trakt"),
        (queue.COMPLETED, "sent"),
    ]
    assert (only(report).sent, only(report).rejected) == (2, ["not found on Trakt"])
    assert report.exit_code == ExitCode.FAILED


def test_trakt_episode_without_its_own_ids_is_rejected_without_a_request(
    logged_in_everywhere: Runtime, api: respx.MockRouter
) -> None:
    rate_and_export(logged_in_everywhere, "trakt", [(episode(3), 8)])
    server = serve(api, "trakt")

    report = run_flush(logged_in_everywhere)

    assert server.requests == []
    assert outcomes(logged_in_everywhere) == [
        (queue.REJECTED, "rejected: no id Trakt can match for this episode")
    ]
    assert only(report).rejected == ["no id Trakt can match for this episode"]


def test_trakt_second_flush_after_success_posts_nothing(
    logged_in_everywhere: Runtime, api: respx.MockRouter, clock: FakeClock
) -> None:
    rate_and_export(logged_in_everywhere, "trakt", [(movie(603), 8)])
    server = serve(api, "trakt")
    run_flush(logged_in_everywhere)

    clock.t += DAY
    report = run_flush(logged_in_everywhere)

    assert len(server.requests) == 1
    assert report.services == []


def test_trakt_401_on_a_current_token_gets_one_refresh_then_the_ratings_are_sent(
    logged_in_everywhere: Runtime, api: respx.MockRouter, clock: FakeClock
) -> None:
    rate_and_export(logged_in_everywhere, "trakt", [(movie(603), 8)])
    server = serve(api, "trakt", httpx.Response(401, json={"error": "invalid_token"}))
    fresh = trakt_token_set("fresh-access", int(clock.now()), refresh="fresh-refresh")
    api.post(f"{TRAKT_AUTH}/oauth/token").respond(200, json=fresh)

    report = run_flush(logged_in_everywhere)

    assert [r.headers["authorization"] for r in server.requests] == [
        f"Bearer {TRAKT_ACCESS}",
        "Bearer fresh-access",
    ]
    assert outcomes(logged_in_everywhere) == [(queue.COMPLETED, "sent")]
    connection = connections.get_connection(logged_in_everywhere.store(), PROFILE, "trakt")
    assert connection is not None and connection.status == "ok"
    assert report.exit_code == ExitCode.OK


# -- Simkl --------------------------------------------------------------------------------------


def test_simkl_ratings_go_in_posts_of_100_with_the_app_identified(
    logged_in_everywhere: Runtime, api: respx.MockRouter
) -> None:
    rate_and_export(
        logged_in_everywhere, "simkl", [(movie(10_000 + i), 1 + i % 10) for i in range(150)]
    )
    server = serve(api, "simkl")

    report = run_flush(logged_in_everywhere)

    assert [len(body["movies"]) for body in server.bodies] == [100, 50]
    for request in server.requests:
        assert dict(request.url.params) == {
            "client_id": SIMKL_CLIENT_ID,
            "app-name": "scrobctl",
            "app-version": __version__,
        }
        assert request.headers["authorization"] == f"Bearer {SIMKL_TOKEN}"
        assert request.headers["content-type"] == "application/json"
    assert (only(report).sent, only(report).requests) == (150, 2)


def test_simkl_rating_body_has_movies_and_shows_with_integer_ratings(
    logged_in_everywhere: Runtime, api: respx.MockRouter
) -> None:
    record_plays(logged_in_everywhere, [episode(1)])  # makes the show's item
    show = {"type": "show", "ids": {"tvdb": 371_980}}
    rate_and_export(
        logged_in_everywhere, "simkl", [(movie(603, imdb="tt0133093"), 9.5), (show, 6.4)]
    )
    server = serve(api, "simkl")

    run_flush(logged_in_everywhere)

    (body,) = server.bodies
    assert body == {
        "movies": [{"ids": MATRIX, "rating": 10, "rated_at": RATED_SIMKL}],
        "shows": [{"ids": {"tmdb": 95_396, "tvdb": 371_980}, "rating": 6, "rated_at": RATED_SIMKL}],
    }
    assert all(type(i["rating"]) is int for items in body.values() for i in items)


def test_simkl_not_found_echoed_with_string_ids_is_rejected(
    logged_in_everywhere: Runtime, api: respx.MockRouter
) -> None:
    rate_and_export(logged_in_everywhere, "simkl", [(movie(UNKNOWN_TMDB), 6), (movie(603), 8)])
    serve(api, "simkl", unknown={str(UNKNOWN_TMDB)})

    report = run_flush(logged_in_everywhere)

    assert outcomes(logged_in_everywhere) == [
        (queue.REJECTED, "rejected: not found on Simkl"),
        (queue.COMPLETED, "sent"),
    ]
    assert only(report).rejected == ["not found on Simkl"]


# -- Last.fm ------------------------------------------------------------------------------------


def test_lastfm_each_love_is_one_signed_track_love_post(
    logged_in_everywhere: Runtime, api: respx.MockRouter
) -> None:
    rate_and_export(
        logged_in_everywhere,
        "lastfm",
        [(song("Hurt"), 9), (song("Jóga", artist="Björk"), 10), (song("Rock & Roll = Love"), 8)],
    )
    server = serve(api, "lastfm")

    report = run_flush(logged_in_everywhere)

    assert [(f["method"], f["artist"], f["track"]) for f in server.forms] == [
        ("track.love", "Johnny Cash", "Hurt"),
        ("track.love", "Björk", "Jóga"),
        ("track.love", "Johnny Cash", "Rock & Roll = Love"),
    ]
    for request, form in zip(server.requests, server.forms, strict=True):
        assert request.headers["content-type"].startswith("application/x-www-form-urlencoded")
        assert request.url.params == httpx.QueryParams()  # everything in the body
        assert set(form) == {"method", "artist", "track", "api_key", "sk", "api_sig", "format"}
        assert (form["api_key"], form["sk"], form["format"]) == (
            LASTFM_APP["api_key"],
            LASTFM_SESSION,
            "json",
        )
        assert form["api_sig"] == pylast_signature(form, **LASTFM_APP, session_key=LASTFM_SESSION)
    assert (only(report).sent, only(report).requests) == (3, 3)
    assert {r["state"] for r in jobs(logged_in_everywhere)} == {queue.COMPLETED}


def test_lastfm_error_6_refuses_only_that_love(
    logged_in_everywhere: Runtime, api: respx.MockRouter
) -> None:
    rate_and_export(logged_in_everywhere, "lastfm", [(song("Hurt"), 9), (song("No Such Song"), 9)])
    invalid = httpx.Response(400, json={"error": 6, "message": "Invalid track name supplied"})
    serve(api, "lastfm", httpx.Response(200, json={}), invalid)

    report = run_flush(logged_in_everywhere)

    assert outcomes(logged_in_everywhere) == [
        (queue.COMPLETED, "sent"),
        (queue.REJECTED, "rejected: error 6: Invalid track name supplied"),
    ]
    assert only(report).rejected == ["error 6: Invalid track name supplied"]


# -- ListenBrainz -------------------------------------------------------------------------------


def test_listenbrainz_feedback_is_exactly_recording_mbid_and_score(
    logged_in_everywhere: Runtime, api: respx.MockRouter
) -> None:
    rate_and_export(
        logged_in_everywhere,
        "listenbrainz",
        [(song("Hurt", mbid(1)), 9), (song("Jackson", mbid(2)), 2)],
    )
    server = serve(api, "listenbrainz")

    report = run_flush(logged_in_everywhere)

    assert server.bodies == [
        {"recording_mbid": mbid(1), "score": 1},
        {"recording_mbid": mbid(2), "score": -1},
    ]
    for request in server.requests:
        assert request.headers["authorization"] == f"Token {LB_TOKEN}"
        assert request.headers["content-type"] == "application/json"
    assert (only(report).sent, only(report).requests) == (2, 2)
    assert {r["state"] for r in jobs(logged_in_everywhere)} == {queue.COMPLETED}


# -- errors, as for scrobbles -------------------------------------------------------------------


def two_ratings(runtime: Runtime, service: str) -> None:
    if service in ("trakt", "simkl"):
        rated = [(movie(603), 8), (movie(604), 7)]
    else:
        rated = [(song("Hurt", mbid(1)), 9), (song("One", mbid(2)), 10)]
    rate_and_export(runtime, service, rated)


RATE_LIMITED = [
    pytest.param(
        "trakt", httpx.Response(429, headers={"Retry-After": "120"}, content=b""), 120, id="trakt"
    ),
    pytest.param(
        "simkl",
        httpx.Response(
            429,
            headers={"Retry-After": "120"},
            json={"error": "rate_limit", "code": 429, "message": "Too many requests"},
        ),
        120,
        id="simkl",
    ),
    pytest.param(
        "lastfm",
        httpx.Response(429, json={"error": 29, "message": "Rate Limit Exceeded"}),
        RATE_LIMIT_WAIT,
        id="lastfm-error-29",
    ),
    pytest.param(
        "listenbrainz",
        httpx.Response(
            429,
            headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset-In": "119"},
            json={"code": 429, "error": "You have exceeded your rate limit."},
        ),
        120,  # Reset-In + 1
        id="listenbrainz",
    ),
]


@pytest.mark.parametrize(("service", "limited", "wait"), RATE_LIMITED)
def test_429_snoozes_the_ratings_without_spending_an_attempt(
    logged_in_everywhere: Runtime,
    api: respx.MockRouter,
    clock: FakeClock,
    service: str,
    limited: httpx.Response,
    wait: float,
) -> None:
    two_ratings(logged_in_everywhere, service)
    server = serve(api, service, limited)
    until = clock.now() + wait

    report = run_flush(logged_in_everywhere)

    assert len(server.requests) == 1  # stopped at the 429
    assert {(r["state"], r["attempt"], r["errors"]) for r in jobs(logged_in_everywhere)} == {
        (queue.AVAILABLE, 0, "[]")
    }
    assert {
        r["scheduled_at"] for r in jobs(logged_in_everywhere) if r["scheduled_at"] > clock.now()
    } == {until}
    connection = connections.get_connection(logged_in_everywhere.store(), PROFILE, service)
    assert connection is not None and connection.deferred_until == until
    assert only(report).deferred_until == until
    assert report.exit_code == ExitCode.OK


@pytest.mark.parametrize("service", ["trakt", "simkl", "lastfm", "listenbrainz"])
def test_429_then_the_next_flush_after_the_pause_sends_them(
    logged_in_everywhere: Runtime, api: respx.MockRouter, clock: FakeClock, service: str
) -> None:
    two_ratings(logged_in_everywhere, service)
    limited = httpx.Response(429, headers={"Retry-After": "120"}, json={"error": 29})
    serve(api, service, limited)
    run_flush(logged_in_everywhere)

    clock.t += RATE_LIMIT_WAIT + 1
    run_flush(logged_in_everywhere)

    assert {(r["state"], r["attempt"]) for r in jobs(logged_in_everywhere)} == {
        (queue.COMPLETED, 1)
    }


SERVER_ERRORS = [
    pytest.param("trakt", httpx.Response(503, json={"error": "unavailable"}), id="trakt-503"),
    pytest.param(
        "simkl",
        httpx.Response(502, text="<html>Bad Gateway</html>", headers={"Content-Type": "text/html"}),
        id="simkl-502",
    ),
    pytest.param(
        "lastfm",
        httpx.Response(503, json={"error": 11, "message": "Service Offline"}),
        id="lastfm-error-11",
    ),
    pytest.param(
        "listenbrainz",
        httpx.Response(500, json={"code": 500, "error": "Internal server error"}),
        id="listenbrainz-500",
    ),
]


@pytest.mark.parametrize(("service", "failure"), SERVER_ERRORS)
def test_5xx_backs_off_and_spends_an_attempt(
    logged_in_everywhere: Runtime,
    api: respx.MockRouter,
    clock: FakeClock,
    service: str,
    failure: httpx.Response,
) -> None:
    two_ratings(logged_in_everywhere, service)
    serve(api, service, failure)
    now = clock.now()

    report = run_flush(logged_in_everywhere)

    claimed = [r for r in jobs(logged_in_everywhere) if r["attempt"] == 1]
    assert {r["state"] for r in claimed} == {queue.RETRYABLE}
    for row in claimed:
        assert now + BACKOFF_BASE / 2 <= row["scheduled_at"] <= now + BACKOFF_BASE
        assert len(json.loads(row["errors"])) == 1
    # The batch services fail both ratings in the one request; one-a-request services stop.
    assert len(claimed) == (2 if service in ("trakt", "simkl") else 1)
    assert only(report).retry_scheduled == len(claimed)
    connection = connections.get_connection(logged_in_everywhere.store(), PROFILE, service)
    assert connection is not None and connection.status == "ok"


REFUSED = [
    pytest.param("trakt", httpx.Response(401, json={"error": "invalid_token"}), id="trakt-401"),
    pytest.param(
        "simkl",
        httpx.Response(
            401, json={"error": "user_token_failed", "code": 401, "message": "Token is not valid"}
        ),
        id="simkl-401",
    ),
    pytest.param(
        "lastfm",
        httpx.Response(403, json={"error": 9, "message": "Invalid session key"}),
        id="lastfm-error-9",
    ),
    pytest.param(
        "listenbrainz",
        httpx.Response(401, json={"code": 401, "error": "Invalid authorization token."}),
        id="listenbrainz-401",
    ),
]


@pytest.mark.parametrize(("service", "refused"), REFUSED)
def test_refused_credentials_mark_reconnect_required_and_keep_the_ratings(
    logged_in_everywhere: Runtime,
    api: respx.MockRouter,
    service: str,
    refused: httpx.Response,
) -> None:
    two_ratings(logged_in_everywhere, service)
    serve(api, service, refused, refused)
    # Should the Trakt sender try one refresh first, Trakt refuses that too (a revoked app).
    api.post(f"{TRAKT_AUTH}/oauth/token").respond(401, json={"error": "invalid_grant"})

    report = run_flush(logged_in_everywhere)

    connection = connections.get_connection(logged_in_everywhere.store(), PROFILE, service)
    assert connection is not None
    assert connection.status == connections.RECONNECT_REQUIRED
    assert f"scrobctl login {service}" in (connection.status_detail or "")
    assert {(r["state"], r["attempt"], r["errors"]) for r in jobs(logged_in_everywhere)} == {
        (queue.AVAILABLE, 0, "[]")
    }
    assert f"scrobctl login {service}" in (only(report).reconnect or "")
    assert report.exit_code == ExitCode.RECONNECT


def test_trakt_show_and_season_ratings_are_sent_as_shows_and_seasons(
    logged_in_everywhere: Runtime, api: respx.MockRouter
) -> None:
    # Trakt rates movies, shows, seasons and episodes (trakt/trakt-api ratingsParamSchema.ts).
    from scrobctl.store.items import ItemRef, ItemResolver

    show = ItemRef("show", {"trakt": 1390, "tvdb": 121_361})
    with logged_in_everywhere.store().transaction() as conn:
        resolver = ItemResolver(conn)
        show_id, _ = resolver.resolve(show)
        season_id, _ = resolver.resolve(
            ItemRef("season", {"trakt": 3_962, "tvdb": 473_271}, show=show, season=2)
        )
        set_rating(conn, PROFILE, show_id, 9, RATED_AT)
        set_rating(conn, PROFILE, season_id, 6, RATED_AT)
    assert export_ratings(logged_in_everywhere, "trakt", PROFILE).queued == 2
    server = serve(api, "trakt")

    run_flush(logged_in_everywhere)

    (body,) = server.bodies
    assert body["shows"] == [
        {"ids": {"trakt": 1390, "tvdb": 121_361}, "rating": 9, "rated_at": RATED_TRAKT}
    ]
    assert body["seasons"] == [
        {"ids": {"trakt": 3_962, "tvdb": 473_271}, "rating": 6, "rated_at": RATED_TRAKT}
    ]
    assert {r["state"] for r in jobs(logged_in_everywhere)} == {queue.COMPLETED}
