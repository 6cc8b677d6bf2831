"""The history readers replayed from vcrpy cassettes, through the real use case (import_history),
the real service clients and the production HTTP client:

- cassettes/trakt/sync_history_read.yaml: `GET /sync/history`, then
  `/sync/ratings/{movies,episodes}`
- cassettes/simkl/all_items.yaml: `GET /sync/activities`, then
  `/sync/all-items/{movies,shows,anime}`
- cassettes/lastfm/recent_tracks.yaml: `user.getRecentTracks`, then `user.getLovedTracks`
- cassettes/listenbrainz/listens.yaml: `listen-count`, `listens`, then `get-feedback`

They were written by hand from the shapes in /work/shared/api-notes/ (Trakt 4.1, 5, 6; Simkl 10.1,
10.3; Last.fm A.6, A.7; ListenBrainz B.6, B.7), one page each. What the tests expect is read from
the cassettes' own answers, so a re-recording replays without edits.

Recording: SCROBCTL_VCR_RECORD is any vcrpy record mode (default "none": replay only, an unknown
request fails). Recording reads a real account's whole history, so use a test account holding
only a page of it, with SCROBCTL_TEST_* variables named in `needs()` below. The time parameters of
the import's fixed end (Trakt end_at, Last.fm to, ListenBrainz max_ts) are left out of request
matching, so replays do not depend on when the cassette was recorded; the account name is read
back from the cassette.

Secrets: the recorder drops the bearer `Authorization` header of Trakt and Simkl (and cookies),
writes ListenBrainz's as "Token <REDACTED>" (the one form tests/recording.py accepts), and
replaces the trakt-api-key/simkl-api-key headers and the client_id, api_key, api_sig, sk and token
parameters with REDACTED.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import vcr

from scrobctl.clock import Clock
from scrobctl.runtime import Runtime
from scrobctl.store import connections
from scrobctl.sync.importer import ImportResult
from scrobctl.sync.service import import_history
from tests.helpers import interactions
from tests.recording import RECORD_MODE, RECORDING, needs

CASSETTES = Path(__file__).resolve().parent.parent / "cassettes"
PROFILE = "default"
REDACTED = "REDACTED"
LB_AUTHORIZATION = "Token <REDACTED>"
WEEK = 7 * 86_400
UNKNOWN_DATE = "1970-01-01T00:00:01Z"  # Simkl's "watched, date unknown"


CLOCK_PARAMETERS = {"end_at", "to", "max_ts"}  # the import's fixed end: "now" when recorded
SECRET_QUERY = ("client_id", "client_secret", "api_key", "api_sig", "sk", "token")


def query_without_clock(r1: Any, r2: Any) -> None:
    """vcrpy matcher: the query, minus the parameters that only say when the import started."""
    mine = [(k, v) for k, v in r1.query if k not in CLOCK_PARAMETERS]
    theirs = [(k, v) for k, v in r2.query if k not in CLOCK_PARAMETERS]
    assert mine == theirs, f"{mine} != {theirs}"


def _drop_cookies(response: dict[str, Any]) -> dict[str, Any]:
    response["headers"] = {
        k: v for k, v in response["headers"].items() if k.lower() != "set-cookie"
    }
    return response


def recorder(service: str, record_mode: str = RECORD_MODE) -> vcr.VCR:
    authorization = LB_AUTHORIZATION if service == "listenbrainz" else None
    recording = vcr.VCR(
        cassette_library_dir=str(CASSETTES / service),
        record_mode=record_mode,
        match_on=("method", "scheme", "host", "port", "path", "query_without_clock"),
        filter_headers=[
            ("authorization", authorization),
            ("cookie", None),
            ("trakt-api-key", REDACTED),
            ("simkl-api-key", REDACTED),
        ],
        filter_query_parameters=[(name, REDACTED) for name in SECRET_QUERY],
        before_record_response=_drop_cookies,
        decode_compressed_response=True,
    )
    recording.register_matcher("query_without_clock", query_without_clock)
    return recording


# -- reading the cassettes back -------------------------------------------------------------------


def answer(service: str, name: str, path: str, **query: str) -> Any:
    """The JSON body answered to `path` (and query values), read from the cassette."""
    for interaction in interactions(service, name):
        url = urlsplit(interaction["request"]["uri"])
        params = dict(parse_qsl(url.query))
        if url.path == path and all(params.get(k) == v for k, v in query.items()):
            return json.loads(interaction["response"]["body"]["string"])
    raise AssertionError(f"{service}/{name} has no answer to {path} {query}")


def recorded_account(service: str, name: str) -> str:
    """The account the cassette was recorded with: a path segment or the `user` parameter."""
    url = urlsplit(interactions(service, name)[0]["request"]["uri"])
    if service == "listenbrainz":
        return url.path.split("/")[3]  # /1/user/{name}/...
    return dict(parse_qsl(url.query))["user"]


def ts(value: str) -> int:
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())


# -- fixtures and helpers -------------------------------------------------------------------------


def replay(runtime: Runtime, service: str, name: str) -> tuple[ImportResult, Any]:
    with recorder(service).use_cassette(name) as cassette:
        result = asyncio.run(import_history(runtime, service, PROFILE))
    return result, cassette


def rows(runtime: Runtime, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in runtime.store().conn.execute(sql)]


# -- Trakt ----------------------------------------------------------------------------------------

TRAKT = "sync_history_read.yaml"


@pytest.fixture
def trakt_runtime(live_runtime: Callable[..., Runtime], live_clock: Clock) -> Runtime:
    env = needs("SCROBCTL_TEST_TRAKT_CLIENT_ID", "SCROBCTL_TEST_TRAKT_ACCESS_TOKEN")
    runtime = live_runtime(
        trakt={"client_id": env["SCROBCTL_TEST_TRAKT_CLIENT_ID"], "client_secret": "not-used"}
    )
    now = int(live_clock.now())
    connections.save_login(runtime.store(), PROFILE, "trakt", "scrobctl-test", now + WEEK)
    runtime.tokens().set(
        PROFILE,
        "trakt",
        {
            "access_token": env["SCROBCTL_TEST_TRAKT_ACCESS_TOKEN"],
            "refresh_token": "not-used",
            "expires_in": WEEK,
            "created_at": now,  # fresh: no refresh is attempted
        },
    )
    return runtime


def test_cassette_trakt_history_page_becomes_plays(trakt_runtime: Runtime) -> None:
    result, cassette = replay(trakt_runtime, "trakt", TRAKT)

    history = answer("trakt", TRAKT, "/sync/history")
    assert rows(trakt_runtime, "SELECT watched_at FROM plays ORDER BY watched_at DESC") == [
        (ts(e["watched_at"]),) for e in history
    ]
    assert result.progress.total == len(history)
    assert RECORDING or cassette.all_played


def test_cassette_trakt_episode_play_is_of_its_show(trakt_runtime: Runtime) -> None:
    replay(trakt_runtime, "trakt", TRAKT)

    episodes = [e for e in answer("trakt", TRAKT, "/sync/history") if e["type"] == "episode"]
    found = rows(
        trakt_runtime,
        "SELECT e.tmdb, e.season, e.number, s.tmdb FROM plays p JOIN items e ON e.id = p.item_id"
        " JOIN items s ON s.id = e.show_id ORDER BY p.watched_at DESC",
    )
    assert found == [
        (
            e["episode"]["ids"]["tmdb"],
            e["episode"]["season"],
            e["episode"]["number"],
            e["show"]["ids"]["tmdb"],
        )
        for e in episodes
    ]


def test_cassette_trakt_ratings_are_imported_as_is(trakt_runtime: Runtime) -> None:
    replay(trakt_runtime, "trakt", TRAKT)

    expected = sorted(
        (e["rating"] * 1.0, ts(e["rated_at"]))
        for kind in ("movies", "episodes")
        for e in answer("trakt", TRAKT, f"/sync/ratings/{kind}")
    )
    assert sorted(rows(trakt_runtime, "SELECT rating, rated_at FROM ratings")) == expected


# -- Simkl ----------------------------------------------------------------------------------------

SIMKL = "all_items.yaml"


@pytest.fixture
def simkl_runtime(live_runtime: Callable[..., Runtime]) -> Runtime:
    env = needs("SCROBCTL_TEST_SIMKL_CLIENT_ID", "SCROBCTL_TEST_SIMKL_ACCESS_TOKEN")
    runtime = live_runtime(simkl={"client_id": env["SCROBCTL_TEST_SIMKL_CLIENT_ID"]})
    connections.save_login(runtime.store(), PROFILE, "simkl", "scrobctl-test")
    runtime.tokens().set(
        PROFILE, "simkl", {"access_token": env["SCROBCTL_TEST_SIMKL_ACCESS_TOKEN"]}
    )
    return runtime


def simkl_entries(kind: str) -> list[dict[str, Any]]:
    return (answer("simkl", SIMKL, f"/sync/all-items/{kind}") or {}).get(kind) or []


def test_cassette_simkl_all_items_become_plays_without_the_unknown_dates(
    simkl_runtime: Runtime,
) -> None:
    result, cassette = replay(simkl_runtime, "simkl", SIMKL)

    expected = [ts(m["last_watched_at"]) for m in simkl_entries("movies")]
    for kind in ("shows", "anime"):
        for entry in simkl_entries(kind):
            for season in entry.get("seasons") or []:
                expected += [ts(e["watched_at"]) for e in season.get("episodes") or []]
    expected = sorted((t for t in expected if t != ts(UNKNOWN_DATE)), reverse=True)
    assert [
        r[0] for r in rows(simkl_runtime, "SELECT watched_at FROM plays ORDER BY watched_at DESC")
    ] == expected
    assert result.report is None
    assert RECORDING or cassette.all_played


def test_cassette_simkl_string_ids_are_stored_as_integers(simkl_runtime: Runtime) -> None:
    replay(simkl_runtime, "simkl", SIMKL)

    movies = [m for m in simkl_entries("movies") if m["last_watched_at"] != UNKNOWN_DATE]
    stored = rows(simkl_runtime, "SELECT tmdb, typeof(tmdb) FROM items WHERE kind = 'movie'")
    assert stored == [(int(m["movie"]["ids"]["tmdb"]), "integer") for m in movies]


def test_cassette_simkl_user_ratings_are_imported(simkl_runtime: Runtime) -> None:
    replay(simkl_runtime, "simkl", SIMKL)

    expected = sorted(
        (e["user_rating"] * 1.0, ts(e["user_rated_at"]))
        for kind in ("movies", "shows", "anime")
        for e in simkl_entries(kind)
        if e.get("user_rating")
    )
    assert sorted(rows(simkl_runtime, "SELECT rating, rated_at FROM ratings")) == expected


# -- Last.fm --------------------------------------------------------------------------------------

LASTFM = "recent_tracks.yaml"
LASTFM_PATH = "/2.0/"


@pytest.fixture
def lastfm_runtime(live_runtime: Callable[..., Runtime]) -> Runtime:
    env = needs("SCROBCTL_TEST_LASTFM_API_KEY", "SCROBCTL_TEST_LASTFM_USER")
    runtime = live_runtime(
        lastfm={"api_key": env["SCROBCTL_TEST_LASTFM_API_KEY"], "api_secret": "not-used"}
    )
    user = env["SCROBCTL_TEST_LASTFM_USER"] if RECORDING else recorded_account("lastfm", LASTFM)
    connections.save_login(runtime.store(), PROFILE, "lastfm", user)
    return runtime


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value else []


def test_cassette_lastfm_recent_tracks_become_plays_without_now_playing(
    lastfm_runtime: Runtime,
) -> None:
    result, cassette = replay(lastfm_runtime, "lastfm", LASTFM)

    recent = answer("lastfm", LASTFM, LASTFM_PATH, method="user.getRecentTracks")["recenttracks"]
    dated = [t for t in as_list(recent["track"]) if "date" in t]
    assert rows(lastfm_runtime, "SELECT watched_at FROM plays ORDER BY watched_at DESC") == [
        (int(t["date"]["uts"]),) for t in dated
    ]
    assert result.progress.total == int(recent["@attr"]["total"])
    assert result.report is None
    assert RECORDING or cassette.all_played


def test_cassette_lastfm_loved_tracks_are_ratings_of_10(lastfm_runtime: Runtime) -> None:
    replay(lastfm_runtime, "lastfm", LASTFM)

    loved = answer("lastfm", LASTFM, LASTFM_PATH, method="user.getLovedTracks")["lovedtracks"]
    expected = sorted((t["name"], 10.0, int(t["date"]["uts"])) for t in as_list(loved["track"]))
    found = rows(
        lastfm_runtime,
        "SELECT i.title, r.rating, r.rated_at FROM ratings r JOIN items i ON i.id = r.item_id",
    )
    assert sorted(found) == expected


# -- ListenBrainz ---------------------------------------------------------------------------------

LISTENBRAINZ = "listens.yaml"


@pytest.fixture
def listenbrainz_runtime(live_runtime: Callable[..., Runtime]) -> Runtime:
    env = needs("SCROBCTL_TEST_LB_TOKEN", "SCROBCTL_TEST_LB_USER")
    runtime = live_runtime()
    user = (
        env["SCROBCTL_TEST_LB_USER"]
        if RECORDING
        else recorded_account("listenbrainz", LISTENBRAINZ)
    )
    connections.save_login(runtime.store(), PROFILE, "listenbrainz", user)
    runtime.tokens().set(PROFILE, "listenbrainz", {"token": env["SCROBCTL_TEST_LB_TOKEN"]})
    return runtime


def lb_answer(suffix: str) -> Any:
    user = recorded_account("listenbrainz", LISTENBRAINZ)
    return answer("listenbrainz", LISTENBRAINZ, f"/1/user/{user}/{suffix}")


def test_cassette_listenbrainz_listens_become_plays(listenbrainz_runtime: Runtime) -> None:
    result, cassette = replay(listenbrainz_runtime, "listenbrainz", LISTENBRAINZ)

    listens = lb_answer("listens")["payload"]["listens"]
    assert rows(listenbrainz_runtime, "SELECT watched_at FROM plays ORDER BY watched_at DESC") == [
        (x["listened_at"],) for x in listens
    ]
    assert result.progress.total == lb_answer("listen-count")["payload"]["count"]
    assert RECORDING or cassette.all_played


def test_cassette_listenbrainz_mapped_listens_keep_their_recording_mbid(
    listenbrainz_runtime: Runtime,
) -> None:
    replay(listenbrainz_runtime, "listenbrainz", LISTENBRAINZ)

    listens = lb_answer("listens")["payload"]["listens"]
    expected = sorted(
        x["track_metadata"]["mbid_mapping"]["recording_mbid"]
        for x in listens
        if "mbid_mapping" in x["track_metadata"]
    )
    found = rows(listenbrainz_runtime, "SELECT mbid FROM items WHERE mbid IS NOT NULL")
    assert sorted(r[0] for r in found) == expected


def test_cassette_listenbrainz_feedback_becomes_ratings(listenbrainz_runtime: Runtime) -> None:
    replay(listenbrainz_runtime, "listenbrainz", LISTENBRAINZ)

    user = recorded_account("listenbrainz", LISTENBRAINZ)
    feedback = answer("listenbrainz", LISTENBRAINZ, f"/1/feedback/user/{user}/get-feedback")
    expected = sorted(
        (f["recording_mbid"], {1: 10.0, -1: 1.0}[f["score"]], f["created"])
        for f in feedback["feedback"]
    )
    found = rows(
        listenbrainz_runtime,
        "SELECT i.mbid, r.rating, r.rated_at FROM ratings r JOIN items i ON i.id = r.item_id",
    )
    assert sorted(found) == expected


# -- the cassettes themselves ---------------------------------------------------------------------


IMPORT_CASSETTES = [
    ("trakt", TRAKT),
    ("simkl", SIMKL),
    ("lastfm", LASTFM),
    ("listenbrainz", LISTENBRAINZ),
]


@pytest.mark.parametrize(("service", "name"), IMPORT_CASSETTES)
def test_import_cassette_holds_no_credentials(service: str, name: str) -> None:
    for interaction in interactions(service, name):
        request = interaction["request"]
        headers = {k.lower(): v for k, v in (request.get("headers") or {}).items()}
        assert headers.get("authorization", [LB_AUTHORIZATION]) == [LB_AUTHORIZATION]
        assert "cookie" not in headers
        for key in ("trakt-api-key", "simkl-api-key"):
            assert headers.get(key, [REDACTED]) == [REDACTED]
        for key, value in parse_qsl(urlsplit(request["uri"]).query):
            if key in SECRET_QUERY:
                assert value == REDACTED, f"{service}/{name}: {key}={value}"
