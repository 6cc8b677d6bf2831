"""End to end: plays that ListenBrainz's own submit rules accept reach a fake that applies those
rules (tests/fakes/listenbrainz.py, after listenbrainz-server webserver/views/api.py
submit_listen l.88-118 and api_tools.py validate_listen l.162-255), and feedback with an MBID
the server would refuse is reported, never sent (issue #15)."""

from __future__ import annotations

import json
import time
import uuid

from tests.e2e.conftest import Cli, jsonl
from tests.fakes.listenbrainz import FakeListenBrainz

CJK = "音楽"  # 3 bytes a character in UTF-8, 6 as a \\uXXXX escape


def play(title: str, artist: str, at: int, **extra: object) -> dict[str, object]:
    return {
        "type": "track",
        "title": title,
        "artist": artist,
        "duration_ms": 200_000,
        "watched_ms": 150_000,
        "watched_at": at,
        **extra,
    }


def test_flush_delivers_plays_with_empty_album_blank_album_long_cjk_names_and_backslash_u0000(
    cli: Cli, fake_lb: FakeListenBrainz, logged_in: object
) -> None:
    at = int(time.time()) - 3600
    long_title, long_artist = CJK * 512, CJK[::-1] * 512  # 1,024 characters each
    events = [
        play("No Album", "Hook", at, album=""),
        play("Blank Album", "Hook", at + 300, album="   "),
        play(long_title, long_artist, at + 600, album="Long"),
        play("Path C:\\u0000 Literally", "Escaper", at + 900, album="Text"),
    ]

    queued = cli("scrobble", input=jsonl(events))
    flushed = cli("flush")

    assert queued.returncode == 0, queued.stderr
    assert flushed.returncode == 0, flushed.stderr
    stored = {listen["track_metadata"]["track_name"]: listen for listen in fake_lb.received()}
    assert sorted(stored) == sorted(e["title"] for e in events)
    assert "release_name" not in stored["No Album"]["track_metadata"]
    assert "release_name" not in stored["Blank Album"]["track_metadata"]
    assert stored[long_title]["track_metadata"]["artist_name"] == long_artist
    assert "\\u0000" in next(t for t in stored if t.startswith("Path"))


def test_export_of_a_rating_with_an_invalid_mbid_reports_it_and_sends_no_feedback(
    cli: Cli, fake_lb: FakeListenBrainz, logged_in: object
) -> None:
    good = str(uuid.UUID(int=42))
    events = [
        {"type": "track", "title": "Good", "artist": "A", "ids": {"mbid": good}, "rating": 9},
        {
            "type": "track",
            "title": "Bad",
            "artist": "A",
            "ids": {"mbid": "not-a-uuid"},
            "rating": 9,
        },
    ]
    assert cli("scrobble", input=jsonl(events)).returncode == 0

    exported = cli("export", "ratings", "--to", "listenbrainz")
    flushed = cli("flush")

    assert exported.returncode == 0, exported.stderr
    assert "not a valid UUID" in exported.stderr
    assert flushed.returncode == 0, flushed.stderr
    sent = [body for _, body in fake_lb.feedback_given]
    assert sent == [{"recording_mbid": good, "score": 1}]
    assert not [
        r
        for r in fake_lb.requests
        if r.path.endswith("recording-feedback")
        and json.loads(r.body).get("recording_mbid") == "not-a-uuid"
    ]


def test_a_listen_too_large_as_sent_is_rejected_for_listenbrainz_only_not_at_intake(
    cli: Cli, fake_lb: FakeListenBrainz, logged_in: object
) -> None:
    # 4,000 CJK characters are 12,000 bytes as posted: over ListenBrainz's 10,240 a listen
    # (api_tools.py MAX_LISTEN_SIZE). That is ListenBrainz's limit, so the play is taken in and
    # only its ListenBrainz job is refused, with the reason.
    at = int(time.time()) - 3600
    huge = play(CJK * 2000, "Long Artist", at)
    fine = play("Short", "Long Artist", at + 300)

    queued = cli("scrobble", input=jsonl([huge, fine]))
    flushed = cli("flush")

    assert queued.returncode == 0, queued.stderr
    assert "invalid 0" in queued.stderr
    assert flushed.returncode == 1, flushed.stderr
    assert "bytes as sent" in flushed.stderr
    assert [x["track_metadata"]["track_name"] for x in fake_lb.received()] == ["Short"]
