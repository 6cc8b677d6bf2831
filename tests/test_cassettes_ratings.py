"""The rating senders replayed under `flush` from vcrpy cassettes, with the production HTTP client:
cassettes/trakt/sync_ratings.yaml, cassettes/simkl/sync_ratings.yaml,
cassettes/lastfm/track_love.yaml and cassettes/listenbrainz/feedback.yaml.

The cassettes were written by hand from the documented shapes (api-notes 5 for Trakt, 10.3 for
Simkl, A.7 for Last.fm, B.7 for ListenBrainz): Trakt and Simkl get one batch in which one movie is
not found, Last.fm one love, ListenBrainz a +1 and a -1. Trakt, Simkl and ListenBrainz bodies are
matched on replay (JSON, compared parsed), so a change in what the senders send fails here.

Recording: SCROBCTL_VCR_RECORD is any vcrpy record mode (default "none": replay only, and a
request no cassette answers fails). Recording rates real items on a test account, so it needs the
variables named in tests/test_cassettes_scrobble.py (SCROBCTL_TEST_TRAKT_*, SCROBCTL_TEST_SIMKL_*,
SCROBCTL_TEST_LASTFM_*) and SCROBCTL_TEST_LB_TOKEN. Remove the ratings, the love and the feedback
afterwards. Recording rewrites a file whole: put its explanatory comment back.

Secrets: Trakt, Simkl and Last.fm use the recorder of tests/recording.py (bearer header
dropped; trakt-api-key, client_id, api_key, api_sig, sk and token replaced by REDACTED);
ListenBrainz's recorder (the same module) replaces the Authorization header with
"Token <REDACTED>". `test_rating_recorder_scrubs_every_secret_it_records` proves both on
recordings made against respx with real-looking secrets.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pylast
import pytest
import respx
import yaml

from scrobctl.clock import Clock
from scrobctl.http import make_client
from scrobctl.runtime import Runtime
from scrobctl.scrobble.enqueue import Ingest
from scrobctl.scrobble.events import Event, Line
from scrobctl.store import connections, queue
from scrobctl.store.ratings import set_rating
from scrobctl.sync.export import export_ratings
from tests.conftest import FakeClock
from tests.helpers import capturing, make_runtime, run_flush
from tests.recording import (
    CREDENTIALS,
    RECORDING,
    SECRETS,
    TEST_ENV,
    credentials,
    find_auth_secrets,
    find_secrets,
    listenbrainz_recorder,
    logged_in,
    recorder,
)

CASSETTES = Path(__file__).resolve().parent.parent / "cassettes"
PROFILE = "default"
RATED_AT = 1_794_903_600  # 2026-11-17T08:20:00Z
HOUR = 3_600
LOVED = "8f3471b5-7e6a-48da-86a9-c1c07a0f47ae"
HATED = "2c4b7e0d-9a51-4f38-b6e2-5d1a0c7f9e83"

LB_TOKEN = TEST_ENV.get("SCROBCTL_TEST_LB_TOKEN")


def lb_logged_in(
    data_dir: Path,
    clock: Clock,
    token: str,
    http_client: Callable[[], httpx.AsyncClient] = make_client,
) -> Runtime:
    runtime = make_runtime(data_dir, clock, http_client)
    runtime.tokens().set(PROFILE, "listenbrainz", {"token": token})
    connections.save_login(runtime.store(), PROFILE, "listenbrainz", "scrobctl-test")
    return runtime


def lb_token() -> str:
    if not RECORDING:
        return "dummy-listenbrainz-token"
    if not LB_TOKEN:
        pytest.fail("set SCROBCTL_TEST_LB_TOKEN to record cassettes (see this module's docstring)")
    return LB_TOKEN


# -- what gets rated ----------------------------------------------------------------------------


def play(fields: dict[str, Any], at: int) -> Event:
    if fields["type"] == "track":
        played = {"duration_ms": 222_000, "watched_ms": 222_000}
    else:
        played = {"duration_ms": 3_300_000, "percentage": 95}
    return Event.model_validate({**fields, **played, "watched_at": at})


MATRIX = {"type": "movie", "title": "The Matrix", "ids": {"tmdb": 603, "imdb": "tt0133093"}}
NOBODY_KNOWS = {"type": "movie", "title": "No Such Film", "ids": {"tmdb": 999_999_999}}
SEVERANCE_S01E02 = {
    "type": "episode",
    "title": "Half Loop",
    "show": {"title": "Severance", "ids": {"tvdb": 371_980, "tmdb": 95_396}},
    "season": 1,
    "number": 2,
    "ids": {"trakt": 7_362_314, "tvdb": 8_870_155},
}


def rate_and_export(runtime: Runtime, service: str, rated: list[tuple[str, Any, float]]) -> None:
    """`rated`: (kind, (id name, value), rating). Every item must have been played."""
    with runtime.store().transaction() as conn:
        for kind, (name, value), rating in rated:
            (item_id,) = conn.execute(
                f"SELECT id FROM items WHERE kind = ? AND {name} = ?", (kind, value)
            ).fetchone()
            set_rating(conn, PROFILE, item_id, rating, RATED_AT)
    summary = export_ratings(runtime, service, PROFILE)
    assert (summary.queued, summary.skipped) == (len(rated), [])


def ingest(runtime: Runtime, events: list[Event]) -> None:
    lines = [Line(i + 1, event) for i, event in enumerate(events)]
    Ingest(runtime.store(), {}, now=runtime.clock.now()).run(lines)


def queue_video_ratings(runtime: Runtime, service: str) -> None:
    """The Matrix 9, a film no service knows 7, and Severance 8: the episode for Trakt, the show
    for Simkl (which rates no episodes)."""
    ingest(
        runtime,
        [play(f, RATED_AT - (3 - i) * HOUR) for i, f in enumerate((MATRIX, NOBODY_KNOWS))]
        + [play(SEVERANCE_S01E02, RATED_AT - HOUR)],
    )
    severance = (
        ("episode", ("trakt", 7_362_314)) if service == "trakt" else ("show", ("tvdb", 371_980))
    )
    rate_and_export(
        runtime,
        service,
        [("movie", ("tmdb", 603), 9), ("movie", ("tmdb", 999_999_999), 7), (*severance, 8)],
    )


def queue_love(runtime: Runtime) -> None:
    track = {"type": "track", "title": "Cassette Test", "artist": "scrobctl"}
    ingest(runtime, [play(track, RATED_AT - HOUR)])
    rate_and_export(runtime, "lastfm", [("track", ("title", "Cassette Test"), 9)])


def queue_feedback(runtime: Runtime) -> None:
    tracks = [
        {"type": "track", "title": "Loved", "artist": "scrobctl", "ids": {"mbid": LOVED}},
        {"type": "track", "title": "Hated", "artist": "scrobctl", "ids": {"mbid": HATED}},
    ]
    ingest(runtime, [play(t, RATED_AT - (2 - i) * HOUR) for i, t in enumerate(tracks)])
    rate_and_export(
        runtime, "listenbrainz", [("track", ("mbid", LOVED), 9), ("track", ("mbid", HATED), 2)]
    )


def outcomes(runtime: Runtime) -> list[tuple[str, str]]:
    rows = runtime.store().conn.execute(
        "SELECT state, outcome FROM jobs WHERE kind = 'rating' ORDER BY id"
    )
    return [(row[0], row[1]) for row in rows]


# -- replay -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "not_found"), [("trakt", "not found on Trakt"), ("simkl", "not found on Simkl")]
)
def test_cassette_sync_ratings_completes_the_added_and_rejects_the_not_found(
    service: str, not_found: str, isolated_env: Path, clock: FakeClock, made: list[Runtime]
) -> None:
    runtime = logged_in(service, isolated_env, clock, credentials(service))
    made.append(runtime)
    queue_video_ratings(runtime, service)

    with recorder(service).use_cassette("sync_ratings.yaml") as cassette:
        report = run_flush(runtime)

    assert outcomes(runtime) == [
        (queue.COMPLETED, "sent"),
        (queue.REJECTED, f"rejected: {not_found}"),
        (queue.COMPLETED, "sent"),
    ]
    (line,) = report.services
    assert (line.sent, line.rejected, line.requests) == (2, [not_found], 1)
    assert RECORDING or cassette.all_played


def test_cassette_lastfm_track_love_completes_the_love(
    isolated_env: Path, clock: FakeClock, made: list[Runtime]
) -> None:
    runtime = logged_in("lastfm", isolated_env, clock, credentials("lastfm"))
    made.append(runtime)
    queue_love(runtime)

    with recorder("lastfm").use_cassette("track_love.yaml") as cassette:
        report = run_flush(runtime)

    assert outcomes(runtime) == [(queue.COMPLETED, "sent")]
    (line,) = report.services
    assert (line.sent, line.rejected, line.requests) == (1, [], 1)
    assert RECORDING or cassette.all_played


def test_cassette_lastfm_track_love_request_is_signed(
    isolated_env: Path, clock: FakeClock, made: list[Runtime]
) -> None:
    creds = credentials("lastfm")
    sent: list[httpx.Request] = []
    runtime = logged_in("lastfm", isolated_env, clock, creds, capturing(sent))
    made.append(runtime)
    queue_love(runtime)

    with recorder("lastfm").use_cassette("track_love.yaml"):
        run_flush(runtime)

    (request,) = sent
    params = dict(parse_qsl(request.content.decode()))
    assert (params["method"], params["artist"], params["track"]) == (
        "track.love",
        "scrobctl",
        "Cassette Test",
    )
    assert (params["api_key"], params["sk"]) == (creds["api_key"], creds["session_key"])
    network = pylast.LastFMNetwork(
        api_key=creds["api_key"], api_secret=creds["api_secret"], session_key=creds["session_key"]
    )
    oracle = pylast._Request(
        network, "track.love", {"artist": "scrobctl", "track": "Cassette Test"}
    )
    oracle.sign_it()
    assert params["api_sig"] == oracle.params["api_sig"]


def test_cassette_listenbrainz_feedback_sends_a_love_and_a_hate(
    isolated_env: Path, clock: FakeClock, made: list[Runtime]
) -> None:
    runtime = lb_logged_in(isolated_env, clock, lb_token())
    made.append(runtime)
    queue_feedback(runtime)

    with listenbrainz_recorder(match_body=True).use_cassette("feedback.yaml") as cassette:
        report = run_flush(runtime)

    assert outcomes(runtime) == [(queue.COMPLETED, "sent")] * 2
    (line,) = report.services
    assert (line.sent, line.rejected, line.requests) == (2, [], 2)
    assert RECORDING or cassette.all_played


# -- the recorders never keep a secret ----------------------------------------------------------


def fake_service(router: respx.MockRouter, service: str) -> None:
    """respx in place of the service, taking every rating."""
    if service == "trakt":
        router.post("https://api.trakt.tv/sync/ratings").respond(
            201, json={"added": {"movies": 2, "episodes": 1}, "not_found": {}}
        )
    elif service == "simkl":
        router.post("https://api.simkl.com/sync/ratings").respond(
            201, json={"added": {"movies": 2, "shows": 1}, "not_found": {}}
        )
    elif service == "lastfm":
        router.post("https://ws.audioscrobbler.com/2.0/").respond(200, json={})
    else:
        router.post("https://api.listenbrainz.org/1/feedback/recording-feedback").respond(
            200, json={"status": "ok"}
        )


# Per service: the requests one flush makes, and the ratings it sends.
RECORDED = {"trakt": (1, 3), "simkl": (1, 3), "lastfm": (1, 1), "listenbrainz": (2, 2)}
CREDENTIAL_NAMES = {**CREDENTIALS, "listenbrainz": ("token",)}


def queue_for(service: str, runtime: Runtime) -> None:
    if service == "lastfm":
        queue_love(runtime)
    elif service == "listenbrainz":
        queue_feedback(runtime)
    else:
        queue_video_ratings(runtime, service)


@pytest.mark.parametrize("service", ["trakt", "simkl", "lastfm", "listenbrainz"])
def test_rating_recorder_scrubs_every_secret_it_records(
    service: str, tmp_path: Path, clock: FakeClock, made: list[Runtime]
) -> None:
    data = tmp_path / "recording-data"
    library = tmp_path / "cassettes"
    creds = {name: SECRETS[name] for name in CREDENTIAL_NAMES[service]}
    if service == "listenbrainz":
        runtime = lb_logged_in(data, clock, creds["token"])
        cassettes = listenbrainz_recorder("all", library, match_body=True)
    else:
        runtime = logged_in(service, data, clock, creds)
        cassettes = recorder(service, "all", library)
    made.append(runtime)
    queue_for(service, runtime)
    requests, ratings = RECORDED[service]

    with respx.mock(assert_all_called=True) as router, cassettes.use_cassette("ratings.yaml"):
        fake_service(router, service)
        report = run_flush(runtime)

    assert report.services[0].sent == ratings
    text = (library / service / "ratings.yaml").read_text()
    assert len(yaml.safe_load(text)["interactions"]) == requests
    assert [name for name, value in creds.items() if value in text] == []
    assert find_secrets(library) == []
    assert find_auth_secrets(library) == []


def test_rating_cassettes_hold_no_unscrubbed_secrets(tmp_path: Path) -> None:
    names = {
        "trakt": "sync_ratings.yaml",
        "simkl": "sync_ratings.yaml",
        "lastfm": "track_love.yaml",
        "listenbrainz": "feedback.yaml",
    }
    for service, name in names.items():
        (tmp_path / service).mkdir()
        (tmp_path / service / name).write_text((CASSETTES / service / name).read_text())

    assert find_secrets(tmp_path) == []
    assert find_auth_secrets(tmp_path) == []
