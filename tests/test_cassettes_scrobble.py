"""The Trakt, Simkl and Last.fm senders replayed under `flush` from vcrpy cassettes
(cassettes/trakt/sync_history.yaml, cassettes/simkl/sync_history.yaml,
cassettes/lastfm/track_scrobble.yaml), with the production HTTP client.

The cassettes were written by hand from the documented shapes (api-notes 4.2 for Trakt, 10.2 for
Simkl, A.4 for Last.fm): each holds one batch in which one play is accepted and one is not
(Trakt/Simkl `not_found`, a Last.fm ignored code 1).

Recording: SCROBCTL_VCR_RECORD is any vcrpy record mode (default "none": replay only, and a
request no cassette answers fails). Recording sends real plays to a test account, so it needs
SCROBCTL_TEST_TRAKT_CLIENT_ID, SCROBCTL_TEST_TRAKT_CLIENT_SECRET, SCROBCTL_TEST_TRAKT_ACCESS_TOKEN;
SCROBCTL_TEST_SIMKL_CLIENT_ID, SCROBCTL_TEST_SIMKL_ACCESS_TOKEN; SCROBCTL_TEST_LASTFM_API_KEY,
SCROBCTL_TEST_LASTFM_API_SECRET, SCROBCTL_TEST_LASTFM_SESSION_KEY. Delete the plays afterwards.
Recording rewrites a file whole: put its explanatory comment back.

Secrets: the recorder is the one in tests/recording.py. It drops the bearer header,
replaces trakt-api-key/simkl-api-key and client_id, api_key, api_sig, sk and token parameters
(query and body) with REDACTED; `test_scrobble_recorder_scrubs_every_secret_it_records` proves it
on a recording made against respx with real-looking secrets.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl

import httpx
import pylast
import pytest
import respx
import yaml

from scrobctl.clock import Clock
from scrobctl.runtime import Runtime
from scrobctl.scrobble.events import Event
from scrobctl.store import queue
from tests.conftest import FakeClock
from tests.helpers import capturing, queue_plays, run_flush
from tests.recording import (
    CREDENTIALS,
    RECORDING,
    SECRETS,
    credentials,
    find_auth_secrets,
    find_secrets,
    logged_in,
    recorder,
)

CASSETTES = Path(__file__).resolve().parent.parent / "cassettes"
PROFILE = "default"
WEEK = 7 * 86_400
AT = 1_794_903_600  # 2026-11-17T08:20:00Z
HOUR = 3_600


def video_plays() -> list[Event]:
    """The Matrix, a film no service knows, and Severance S01E02 known only by its show."""
    base = {"duration_ms": 3_300_000, "percentage": 95}
    return [
        Event.model_validate(
            {"type": "movie", "ids": {"tmdb": 603, "imdb": "tt0133093"}, "watched_at": AT, **base}
        ),
        Event.model_validate(
            {"type": "movie", "ids": {"tmdb": 999_999_999}, "watched_at": AT + HOUR, **base}
        ),
        Event.model_validate(
            {
                "type": "episode",
                "show": {"title": "Severance", "ids": {"tvdb": 371_980}},
                "season": 1,
                "number": 2,
                "watched_at": AT + 2 * HOUR,
                **base,
            }
        ),
    ]


def track_plays(now: float) -> list[Event]:
    """One track Last.fm takes and one its artist filter ignores, started within the hour."""
    base = {"type": "track", "duration_ms": 222_000, "watched_ms": 222_000}
    return [
        Event.model_validate(
            {**base, "artist": "scrobctl", "title": "Cassette Test", "watched_at": int(now) - 3_600}
        ),
        Event.model_validate(
            {
                **base,
                "artist": "Various",
                "title": "Cassette Ignored",
                "watched_at": int(now) - 3_000,
            }
        ),
    ]


def outcomes(runtime: Runtime) -> list[tuple[str, str]]:
    rows = runtime.store().conn.execute(
        "SELECT jobs.state, jobs.outcome FROM jobs JOIN plays ON plays.id = jobs.play_id"
        " ORDER BY plays.watched_at"
    )
    return [(row[0], row[1]) for row in rows]


# -- replay -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "not_found"), [("trakt", "not found on Trakt"), ("simkl", "not found on Simkl")]
)
def test_cassette_sync_history_completes_the_added_and_rejects_the_not_found(
    service: str,
    not_found: str,
    isolated_env: Path,
    clock: FakeClock,
    made: list[Runtime],
) -> None:
    runtime = logged_in(service, isolated_env, clock, credentials(service))
    made.append(runtime)
    queue_plays(runtime, service, video_plays())

    with recorder(service).use_cassette("sync_history.yaml") as cassette:
        report = run_flush(runtime)

    assert outcomes(runtime) == [
        (queue.COMPLETED, "sent"),
        (queue.REJECTED, f"rejected: {not_found}"),
        (queue.COMPLETED, "sent"),
    ]
    (line,) = report.services
    assert (line.sent, line.rejected, line.requests) == (2, [not_found], 1)
    assert RECORDING or cassette.all_played


def test_cassette_lastfm_track_scrobble_completes_the_accepted_and_rejects_the_ignored(
    isolated_env: Path, live_clock: Clock, made: list[Runtime]
) -> None:
    runtime = logged_in("lastfm", isolated_env, live_clock, credentials("lastfm"))
    made.append(runtime)
    queue_plays(runtime, "lastfm", track_plays(live_clock.now()))

    with recorder("lastfm").use_cassette("track_scrobble.yaml") as cassette:
        report = run_flush(runtime)

    reason = "ignored by Last.fm (code 1: Artist name failed filter: Various)"
    assert outcomes(runtime) == [
        (queue.COMPLETED, "sent"),
        (queue.REJECTED, f"rejected: {reason}"),
    ]
    (line,) = report.services
    assert (line.sent, line.rejected, line.requests) == (1, [reason], 1)
    assert RECORDING or cassette.all_played


def test_cassette_lastfm_track_scrobble_request_is_signed(
    isolated_env: Path, live_clock: Clock, made: list[Runtime]
) -> None:
    creds = credentials("lastfm")
    sent: list[httpx.Request] = []
    runtime = logged_in("lastfm", isolated_env, live_clock, creds, capturing(sent))
    made.append(runtime)
    plays = track_plays(live_clock.now())
    queue_plays(runtime, "lastfm", plays)

    with recorder("lastfm").use_cassette("track_scrobble.yaml"):
        run_flush(runtime)

    (request,) = sent
    params = dict(parse_qsl(request.content.decode()))
    assert [params["artist[0]"], params["artist[1]"]] == ["scrobctl", "Various"]
    assert [params["timestamp[0]"], params["timestamp[1]"]] == [
        str(play.watched_at) for play in plays
    ]
    network = pylast.LastFMNetwork(
        api_key=creds["api_key"], api_secret=creds["api_secret"], session_key=creds["session_key"]
    )
    signed = {
        k: v for k, v in params.items() if k not in ("method", "api_key", "sk", "api_sig", "format")
    }
    oracle = pylast._Request(network, "track.scrobble", signed)
    assert params["api_sig"] == oracle.params["api_sig"]


# -- the recorder never keeps a secret --------------------------------------------------------


def fake_service(router: respx.MockRouter, service: str) -> None:
    """respx in place of the service, answering the batch as accepted."""
    if service == "trakt":
        router.post("https://api.trakt.tv/sync/history").respond(
            201, json={"added": {"movies": 2, "episodes": 1}, "not_found": {}}
        )
    elif service == "simkl":
        router.post("https://api.simkl.com/sync/history").respond(
            201, json={"added": {"movies": 2, "shows": 1, "episodes": 1}, "not_found": {}}
        )
    else:
        item = {"ignoredMessage": {"code": "0", "#text": ""}}
        router.post("https://ws.audioscrobbler.com/2.0/").respond(
            200, json={"scrobbles": {"@attr": {"accepted": "2"}, "scrobble": [item, item]}}
        )


@pytest.mark.parametrize("service", ["trakt", "simkl", "lastfm"])
def test_scrobble_recorder_scrubs_every_secret_it_records(
    service: str, tmp_path: Path, clock: FakeClock, made: list[Runtime]
) -> None:
    creds = {name: SECRETS[name] for name in CREDENTIALS[service]}
    runtime = logged_in(service, tmp_path / "recording-data", clock, creds)
    made.append(runtime)
    events = track_plays(clock.now()) if service == "lastfm" else video_plays()
    queue_plays(runtime, service, events)
    library = tmp_path / "cassettes"

    with (
        respx.mock(assert_all_called=True) as router,
        recorder(service, "all", library).use_cassette("scrobble.yaml"),
    ):
        fake_service(router, service)
        report = run_flush(runtime)

    assert report.services[0].sent == len(events)
    text = (library / service / "scrobble.yaml").read_text()
    assert len(yaml.safe_load(text)["interactions"]) == 1
    assert [name for name, value in creds.items() if value in text] == []
    assert find_secrets(library) == []
    assert find_auth_secrets(library) == []
