"""End to end (issue 21): ListenBrainz to Last.fm within Last.fm's 14 days, plays and feedback
(a love), and Last.fm loves to ListenBrainz feedback, through `sync --ratings` and `flush`.
Plays older than 14 days are counted once and never queued (Last.fm ignores them)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import GOOD_TOKEN, Cli, fake_service_env, unique
from tests.fakes.lastfm import FakeLastfm
from tests.fakes.listenbrainz import FakeListenBrainz
from tests.helpers import json_envelope

DAY = 86_400
FEEDBACK = "/1/feedback/user/rob/get-feedback"
LOVED_MBID = str(uuid.UUID(int=77))


def listen(i: int, at: int) -> dict[str, Any]:
    return {
        "listened_at": at,
        "track_metadata": {
            "artist_name": "Band",
            "track_name": f"Song {i}",
            "release_name": "Record",
            "additional_info": {"duration_ms": 200_000},
        },
    }


@pytest.fixture
def fake_lastfm() -> Iterator[FakeLastfm]:
    fake = FakeLastfm(
        api_key=unique("lastfm-key"), api_secret=unique("lastfm-secret"), auto_approve_after=0
    )
    with fake:
        yield fake


def sync_json(cli: Cli, *args: str) -> dict[str, Any]:
    result = cli("sync", *args, "--ratings", "--json", timeout=120)
    assert result.returncode == 0, result.stderr
    return json_envelope(result.stdout)["data"]


def test_listenbrainz_to_lastfm_within_14_days_and_loves_both_ways(
    cli: Cli, cli_env: dict[str, str], fake_lb: FakeListenBrainz, fake_lastfm: FakeLastfm
) -> None:
    now = int(time.time())
    recent = [now - DAY - i * 600 for i in range(10)]
    old = [now - 20 * DAY - i * 600 for i in range(5)]
    for i, at in enumerate(recent + old):
        fake_lb.add_listen(listen(i, at))
    fake_lb.feedback = [
        {
            "created": now - DAY,
            "recording_mbid": None,
            "recording_msid": str(uuid.uuid4()),
            "score": 1,
            "track_metadata": {"artist_name": "Band", "track_name": "Song 0"},
            "user_id": "rob",
        }
    ]
    fake_lastfm.love("Singer", "Ballad", now - 3 * DAY, mbid=LOVED_MBID)
    cli_env.update(fake_service_env(lastfm=fake_lastfm))
    assert cli("login", "lastfm", "--no-browser").returncode == 0
    assert cli("login", "listenbrainz", "--token-stdin", input=GOOD_TOKEN + "\n").returncode == 0

    to_lastfm = sync_json(cli, "--from", "listenbrainz", "--to", "lastfm")

    assert to_lastfm["queued"] == 10
    assert (to_lastfm["too_old"], to_lastfm["too_old_days"]) == (5, 14)
    assert to_lastfm["ratings"]["queued"] == 1
    to_lb = sync_json(cli, "--from", "lastfm", "--to", "listenbrainz")
    assert to_lb["ratings"]["queued"] == 1
    # Last.fm gave back no play that ListenBrainz lacks (its history here is empty).
    assert to_lb["queued"] == 0

    flushed = cli("flush", timeout=120)

    assert flushed.returncode == 0, flushed.stderr
    assert sorted(s.timestamp for s in fake_lastfm.stored()) == sorted(recent)
    assert {(t["artist"]["name"], t["name"]) for t in fake_lastfm.loved} >= {("Band", "Song 0")}
    assert [body for _user, body in fake_lb.feedback_given] == [
        {"recording_mbid": LOVED_MBID, "score": 1}
    ]
    again = sync_json(cli, "--from", "listenbrainz", "--to", "lastfm")
    assert again["queued"] == 0 and again["ratings"]["queued"] == 0


def test_a_failed_loves_step_is_said_and_exits_1_with_the_plays_still_queued(
    cli: Cli, cli_env: dict[str, str], fake_lb: FakeListenBrainz, fake_lastfm: FakeLastfm
) -> None:
    fake_lastfm.history_size = 3
    fake_lastfm.history_start = int(time.time()) - 3 * DAY
    fake_lastfm.unsupported.add("user.getLovedTracks")
    cli_env.update(fake_service_env(lastfm=fake_lastfm))
    assert cli("login", "lastfm", "--no-browser").returncode == 0
    assert cli("login", "listenbrainz", "--token-stdin", input=GOOD_TOKEN + "\n").returncode == 0

    result = cli("sync", "--from", "lastfm", "--to", "listenbrainz", "--json", timeout=120)

    assert result.returncode == 1, result.stderr
    envelope = json_envelope(result.stdout)
    summary = envelope["data"]
    assert summary["queued"] == 3 and envelope["exit_code"] == 1
    assert any("loved tracks not imported" in note for note in summary["notes"]), summary
