"""End to end (issue 21, done when): a Last.fm history of 20,000 plays, 5,000 of them already
on ListenBrainz at the same times but written differently (case, "feat." in the title instead
of the artist, another album name). `scrobctl sync --from lastfm --to listenbrainz` imports
both histories, queues exactly the 15,000 missing, and `flush` sends them in 15 `import`
submissions of 1,000 (api_tools.py MAX_LISTENS_PER_REQUEST); a second sync queues nothing.

Reading 20,000 plays from Last.fm is 100 pages of 200 at the client's 1 request a second
(http.py RATE_LIMITS, api-notes A.9): this test waits about that long, hence `realtime`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import GOOD_TOKEN, Cli, fake_service_env, unique
from tests.fakes.lastfm import FakeLastfm
from tests.fakes.listenbrainz import FakeListenBrainz
from tests.helpers import json_envelope

PLAYS = 20_000
SLOW = 300.0  # seconds a sync that reads 20,000 Last.fm plays may take (a timeout, not a check)


class FeaturingLastfm(FakeLastfm):
    """The synthetic history, where every tenth track has a featured artist in the artist
    field, as Last.fm's own scrobblers often write it."""

    def history_track(self, i: int) -> dict[str, Any]:
        track = super().history_track(i)
        k = i % 150
        if k % 10 == 1:
            track["artist"]["#text"] += f" feat. Guest {k:03d}"
        return track


def listenbrainz_copy(track: dict[str, Any], n: int) -> dict[str, Any]:
    """The same play as another app sent it to ListenBrainz: the guest in the title, the case
    changed, another album name; the server's MBID mapping where the recording has one."""
    artist, title = track["artist"]["#text"], track["name"]
    album = track["album"]["#text"] or None
    if " feat. " in artist:
        artist, guest = artist.split(" feat. ")
        title = f"{title} (feat. {guest})"
    if n % 3 in (0, 2):
        artist, title = artist.upper(), title.lower()
    if n % 3 in (1, 2):
        album = f"{album or 'Singles'} (Deluxe Edition)"
    meta: dict[str, Any] = {"artist_name": artist, "track_name": title, "additional_info": {}}
    if album:
        meta["release_name"] = album
    if track["mbid"]:
        meta["mbid_mapping"] = {"recording_mbid": track["mbid"], "recording_name": title}
    return {"listened_at": int(track["date"]["uts"]), "track_metadata": meta}


@pytest.fixture
def fake_lastfm() -> Iterator[FeaturingLastfm]:
    fake = FeaturingLastfm(
        api_key=unique("lastfm-key"), api_secret=unique("lastfm-secret"), auto_approve_after=0
    )
    fake.history_size = PLAYS
    with fake:
        yield fake


def sync_json(cli: Cli, *args: str) -> dict[str, Any]:
    result = cli("sync", *args, "--json", timeout=SLOW)
    assert result.returncode == 0, result.stderr
    return json_envelope(result.stdout)["data"]


@pytest.mark.realtime(110)
def test_lastfm_history_reaches_listenbrainz_once_in_15_imports_and_a_second_sync_queues_none(
    cli: Cli, cli_env: dict[str, str], fake_lb: FakeListenBrainz, fake_lastfm: FeaturingLastfm
) -> None:
    cli_env.update(fake_service_env(lastfm=fake_lastfm))
    already = [i for i in range(PLAYS) if i % 4 == 0]
    for n, i in enumerate(already):
        fake_lb.add_listen(listenbrainz_copy(fake_lastfm.history_track(i), n))
    assert cli("login", "lastfm", "--no-browser").returncode == 0
    login = cli("login", "listenbrainz", "--token-stdin", input=GOOD_TOKEN + "\n")
    assert login.returncode == 0, login.stderr

    first = sync_json(cli, "--from", "lastfm", "--to", "listenbrainz")

    assert first["imported"] == {"lastfm": PLAYS, "listenbrainz": len(already)}
    assert first["queued"] == PLAYS - len(already) == 15_000
    # By id: the copies ListenBrainz mapped to the recording MBID that Last.fm gave (every
    # third track); the others by title, with feat./case/album differences set aside.
    by_id = sum(1 for i in already if fake_lastfm.history_track(i)["mbid"])
    assert first["already_there"] == {"id": by_id, "title": len(already) - by_id}
    assert by_id == 1_667
    assert first["queued_before"] == {} and first["wrong_type"] == {}

    flushed = cli("flush", timeout=SLOW)

    assert flushed.returncode == 0, flushed.stderr
    assert fake_lb.submissions == [1000] * 15
    sent = sorted(int(listen["listened_at"]) for listen in fake_lb.accepted)
    missing = sorted(
        int(fake_lastfm.history_track(i)["date"]["uts"]) for i in range(PLAYS) if i % 4
    )
    assert sent == missing  # each missing play once, none of those already there

    second = sync_json(cli, "--from", "lastfm", "--to", "listenbrainz")

    assert second["queued"] == 0
    assert second["queued_before"] == {"completed": 15_000}
    assert cli("flush").returncode == 0
    assert len(fake_lb.accepted) == 15_000


def test_dry_run_lists_what_would_be_sent_and_why_the_rest_is_not(
    cli: Cli, cli_env: dict[str, str], fake_lb: FakeListenBrainz, fake_lastfm: FeaturingLastfm
) -> None:
    fake_lastfm.history_size = 40
    cli_env.update(fake_service_env(lastfm=fake_lastfm))
    fake_lb.add_listen(listenbrainz_copy(fake_lastfm.history_track(1), 2))  # feat. + album
    fake_lb.add_listen(listenbrainz_copy(fake_lastfm.history_track(3), 0))  # MBID mapped
    assert cli("login", "lastfm", "--no-browser").returncode == 0
    assert cli("login", "listenbrainz", "--token-stdin", input=GOOD_TOKEN + "\n").returncode == 0

    plan = sync_json(cli, "--from", "lastfm", "--to", "listenbrainz", "--dry-run")

    assert plan["dry_run"] is True and plan["queued"] == 38
    skipped = {p["item"]: p for p in plan["plays"] if p["action"] == "skip"}
    assert {p["match"] for p in skipped.values()} == {"title", "id"}
    assert all(p["reason"] == "already_there" for p in skipped.values())
    assert len([p for p in plan["plays"] if p["action"] == "send"]) == 38
    assert plan["weak_matches_report"] is not None
    # Nothing was queued: the real run queues the same 38.
    assert "nothing is due" in cli("flush", "--dry-run").stderr
    assert sync_json(cli, "--from", "lastfm", "--to", "listenbrainz")["queued"] == 38
