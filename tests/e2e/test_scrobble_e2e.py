"""End to end: `scrobctl scrobble` and `scrobctl flush` against fake Last.fm, Trakt, Simkl and
ListenBrainz servers on 127.0.0.1.

Every test logs in through the real `scrobctl login ... --no-browser` (the fakes approve at
once), pipes playback events into the installed CLI and checks what each service received,
recorded by the fakes: signed Last.fm batches, Trakt and Simkl history with their 1 POST/s
limit (the fakes answer 429 to a faster client), and what the user saw (exit codes, the flush
summary lines, `queue list --json`). The only timing checked is the spacing between POSTs as the
fakes recorded them on arrival.
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

import pytest

from tests.e2e.conftest import (
    TIMEOUT,
    Cli,
    connection,
    fake_service_env,
    jsonl,
    log_in,
    status_json,
    summary_line,
    unique,
    wait_until,
)
from tests.fakes.lastfm import FakeLastfm
from tests.fakes.listenbrainz import FakeListenBrainz
from tests.fakes.simkl import FakeSimkl, SyncPlay
from tests.fakes.trakt import FakeTrakt
from tests.helpers import json_data

DAY = 86_400
HISTORY = "/sync/history"
LOOKUP = {"trakt": "/sync/history", "simkl": "/sync/all-items/"}  # where a resend checks first
MIN_POST_GAP = 0.95  # 1 s, less the jitter between two arrivals on localhost (as the fakes allow)
LOOSE_SLACK = 0.3  # where pacing is not under test: scheduling jitter on a loaded machine
UNKNOWN_TMDB = 999_999  # the fakes' default "no such item"


@pytest.fixture
def fake_trakt() -> Iterator[FakeTrakt]:
    fake = FakeTrakt(
        client_id=unique("trakt-id"),
        client_secret=unique("trakt-secret"),
        poll_statuses=[200],  # the user approves at once
        interval=1,
    )
    with fake:
        yield fake


@pytest.fixture
def fake_simkl() -> Iterator[FakeSimkl]:
    fake = FakeSimkl(client_id=unique("simkl-id"), pending_polls=0, interval=1)
    with fake:
        yield fake


@pytest.fixture
def fake_lastfm() -> Iterator[FakeLastfm]:
    fake = FakeLastfm(
        api_key=unique("lastfm-key"),
        api_secret=unique("lastfm-secret"),
        auto_approve_after=0,
        ignored_artists={"Various Artists"},
    )
    with fake:
        yield fake


@pytest.fixture(autouse=True)
def service_env(
    cli_env: dict[str, str],
    fake_trakt: FakeTrakt,
    fake_simkl: FakeSimkl,
    fake_lastfm: FakeLastfm,
) -> dict[str, str]:
    """Point every service at its fake (ListenBrainz is already, by conftest's cli_env)."""
    cli_env.update(fake_service_env(trakt=fake_trakt, simkl=fake_simkl, lastfm=fake_lastfm))
    return cli_env


@pytest.fixture
def login(cli: Cli) -> Callable[..., None]:
    """Log in to the named services with the real CLI; ListenBrainz takes its token on stdin."""
    return functools.partial(log_in, cli)


# -- helpers -------------------------------------------------------------------------------


def iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def track(i: int, watched_at: int, artist: str = "The Testers") -> dict[str, Any]:
    return {
        "type": "track",
        "title": f"Track {i:05d}",
        "artist": artist,
        "album": "E2E",
        "duration_ms": 200_000,
        "watched_ms": 150_000,
        "watched_at": watched_at,
    }


def movie(i: int, watched_at: int, tmdb: int | None = None) -> dict[str, Any]:
    return {
        "type": "movie",
        "title": f"Movie {i:05d}",
        "year": 2001,
        "ids": {"tmdb": tmdb if tmdb is not None else 100_000 + i, "imdb": f"tt{9_000_000 + i}"},
        "duration_ms": 6_000_000,
        "percentage": 95,
        "watched_at": watched_at,
    }


def episode(i: int, watched_at: int) -> dict[str, Any]:
    """Even episodes carry their own TVDB id; odd ones only their show's ids and numbers."""
    event: dict[str, Any] = {
        "type": "episode",
        "title": f"Episode {i:05d}",
        "show": {"title": "The Test Show", "year": 2020, "ids": {"tmdb": 4_242, "tvdb": 77_777}},
        "season": 1 + i // 50,
        "number": 1 + i % 50,
        "duration_ms": 2_700_000,
        "percentage": 90,
        "watched_at": watched_at,
    }
    if i % 2 == 0:
        event["ids"] = {"tvdb": 8_000_000 + i}
    return event


def trakt_key(entry: dict[str, Any]) -> tuple[Any, ...]:
    """What identifies a play in the fake's Trakt history."""
    if entry["type"] == "movie":
        return ("movie", entry["movie"]["ids"]["tmdb"], entry["watched_at"])
    ids = entry["episode"]["ids"]
    if ids:
        return ("episode", ids["tvdb"], entry["watched_at"])
    return (
        "show",
        entry["show"]["ids"]["tmdb"],
        entry["episode"]["season"],
        entry["episode"]["number"],
        entry["watched_at"],
    )


def event_key(event: dict[str, Any]) -> tuple[Any, ...]:
    """The trakt_key the fake should hold for an event."""
    when = iso(event["watched_at"])
    if event["type"] == "movie":
        return ("movie", event["ids"]["tmdb"], when)
    if "ids" in event:
        return ("episode", event["ids"]["tvdb"], when)
    return ("show", event["show"]["ids"]["tmdb"], event["season"], event["number"], when)


def items_in(body: dict[str, Any]) -> int:
    """Plays in a POST /sync/history body (movies, episodes, and episodes nested in shows)."""
    nested = sum(
        len(season.get("episodes", []))
        for show in body.get("shows", [])
        for season in show.get("seasons", [])
    )
    return len(body.get("movies", [])) + len(body.get("episodes", [])) + nested


def scrobble_batch_sizes(fake: FakeLastfm) -> list[int]:
    return [
        sum(1 for name in call.params if name.startswith("artist["))
        for call in fake.calls_to("track.scrobble")
    ]


def jobs(cli: Cli, *args: str) -> list[dict[str, Any]]:
    """`queue list --json`: every job (--all) unless a --state is given."""
    every = () if "--state" in args else ("--all",)
    result = cli("queue", "list", "--json", "--limit", "1000", *every, *args)
    assert result.returncode == 0, result.stderr
    return json_data(result.stdout)["jobs"]


def simkl_key(play: SyncPlay) -> tuple[Any, ...]:
    """What identifies a play the fake Simkl received (episodes go by show and numbers)."""
    if play.kind == "movie":
        return ("movie", str(play.ids["tmdb"]), play.watched_at)
    return ("episode", str(play.ids["tmdb"]), play.season, play.number, play.watched_at)


def simkl_event_key(event: dict[str, Any]) -> tuple[Any, ...]:
    when = datetime.fromtimestamp(event["watched_at"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if event["type"] == "movie":
        return ("movie", str(event["ids"]["tmdb"]), when)
    show = str(event["show"]["ids"]["tmdb"])
    return ("episode", show, event["season"], event["number"], when)


def held_plays(fake: FakeTrakt | FakeSimkl) -> Counter[tuple[Any, ...]]:
    """The plays the fake holds, resends counted."""
    with fake.lock:
        if isinstance(fake, FakeTrakt):
            return Counter(trakt_key(p.entry) for p in fake.plays)
        return Counter(simkl_key(p) for p in fake.plays)


def expected_plays(fake: FakeTrakt | FakeSimkl, events: list[dict[str, Any]]) -> Counter[Any]:
    """Each event's play, once."""
    key = event_key if isinstance(fake, FakeTrakt) else simkl_event_key
    return Counter(key(e) for e in events)


def gaps(times: list[float]) -> list[float]:
    return [later - earlier for earlier, later in pairwise(times)]


# -- Last.fm -------------------------------------------------------------------------------


def test_120_tracks_reach_lastfm_in_three_signed_batches_and_an_ignored_one_is_rejected_once(
    cli: Cli, login: Callable[..., None], fake_lastfm: FakeLastfm
) -> None:
    login("lastfm")
    start = int(time.time()) - 2 * DAY
    events = [track(i, start + i * 300) for i in range(120)]
    events[57] = track(57, start + 57 * 300, artist="Various Artists")
    # Signed as raw UTF-8 and sent form-encoded: non-ASCII and &, +, = must survive both.
    events[3] = {**events[3], "artist": "Björk", "title": "Jóga"}
    events[4] = {**events[4], "title": "Rock & Roll = Love + Peace?"}
    calls_before = len(fake_lastfm.calls)

    scrobbled = cli("scrobble", input=jsonl(events))
    flushed = cli("flush")

    assert scrobbled.returncode == 0, scrobbled.stderr
    assert "queued 120" in scrobbled.stderr
    assert flushed.returncode == 1, flushed.stderr
    line = summary_line(flushed.stderr, "lastfm")
    assert "119 sent in 3 requests" in line
    assert "1 rejected" in line
    assert "ignored by Last.fm (code 1" in line
    calls = fake_lastfm.calls_to("track.scrobble")
    assert scrobble_batch_sizes(fake_lastfm) == [50, 50, 20]
    assert all(c.http_method == "POST" for c in calls)
    assert all(c.signature_valid for c in calls)
    assert [c.error for c in calls] == [None, None, None]
    stored = {(s.artist, s.track, s.timestamp) for s in fake_lastfm.stored()}
    expected = {(e["artist"], e["title"], e["watched_at"]) for e in events}
    ignored = ("Various Artists", "Track 00057", start + 57 * 300)
    assert stored == expected - {ignored}
    assert [s.ignored for s in fake_lastfm.received].count(1) == 1
    assert all(s.extra.get("duration") == "200" for s in fake_lastfm.received)
    assert all(s.extra.get("album") == "E2E" for s in fake_lastfm.received)
    assert fake_lastfm.problems == []

    [discarded] = jobs(cli, "--state", "rejected")
    assert discarded["service"] == "lastfm"
    assert discarded["item"] == "Various Artists - Track 00057"
    assert discarded["outcome"].startswith("rejected")
    assert "code 1" in discarded["outcome"]
    assert status_json(cli)["queue"]["lastfm"]["completed"] == 119

    calls_after_flush = len(fake_lastfm.calls)
    again = cli("flush")
    assert again.returncode == 0, again.stderr
    assert len(fake_lastfm.calls) == calls_after_flush, "the second flush sent something"
    assert len(fake_lastfm.calls_to("track.scrobble")) == 3
    assert calls_before < calls_after_flush


def test_start_event_shows_now_playing_on_lastfm_and_queues_nothing(
    cli: Cli, login: Callable[..., None], fake_lastfm: FakeLastfm
) -> None:
    login("lastfm")
    event = {
        "type": "track",
        "event": "start",
        "title": "Hurt",
        "artist": "Johnny Cash",
        "album": "American IV: The Man Comes Around",
        "duration_ms": 218_000,
    }

    result = cli("scrobble", input=jsonl([event]))

    assert result.returncode == 0, result.stderr
    assert "queued 0" in result.stderr
    assert "now playing on lastfm" in result.stderr
    [call] = fake_lastfm.calls_to("track.updateNowPlaying")
    assert call.http_method == "POST"
    assert call.signature_valid
    assert call.error is None
    playing = fake_lastfm.now_playing[fake_lastfm.user_name]
    assert playing.params["artist"] == "Johnny Cash"
    assert playing.params["track"] == "Hurt"
    assert playing.params["album"] == "American IV: The Man Comes Around"
    assert playing.params["duration"] == "218"
    assert fake_lastfm.calls_to("track.scrobble") == []
    assert jobs(cli) == []
    assert status_json(cli)["plays"] == 0
    assert fake_lastfm.problems == []

    flushed = cli("flush")
    assert flushed.returncode == 0, flushed.stderr
    assert fake_lastfm.calls_to("track.scrobble") == []


def test_start_event_lastfm_ignores_is_not_reported_as_now_playing(
    cli: Cli, login: Callable[..., None], fake_lastfm: FakeLastfm
) -> None:
    login("lastfm")
    event = {
        "type": "track",
        "event": "start",
        "title": "Compilation Opener",
        "artist": "Various Artists",
        "duration_ms": 200_000,
    }

    result = cli("scrobble", input=jsonl([event]))

    assert result.returncode == 0, result.stderr
    [call] = fake_lastfm.calls_to("track.updateNowPlaying")
    assert call.error is None
    assert fake_lastfm.now_playing == {}, "the fake shows it after all"
    assert "now playing on lastfm" not in result.stderr
    assert "lastfm" in result.stderr  # a warning names the service instead


# -- Trakt and Simkl -----------------------------------------------------------------------


def mixed_events(count: int, start: int, step: int) -> list[dict[str, Any]]:
    """Movies and episodes, alternating; every other episode by its own id."""
    return [
        movie(i, start + i * step) if i % 2 == 0 else episode(i, start + i * step)
        for i in range(count)
    ]


def history_posts(fake: FakeTrakt | FakeSimkl) -> list[Any]:
    return [r for r in fake.requests_to(HISTORY) if r.method == "POST"]


@pytest.mark.parametrize("service", ["trakt", "simkl"])
def test_300_plays_reach_the_service_in_three_posts_never_less_than_1s_apart(
    cli: Cli,
    login: Callable[..., None],
    fake_trakt: FakeTrakt,
    fake_simkl: FakeSimkl,
    service: str,
) -> None:
    fake: FakeTrakt | FakeSimkl = fake_trakt if service == "trakt" else fake_simkl
    login(service)
    fake.connect_latency = 0.3  # a new connection to the real host takes a handshake
    events = mixed_events(300, int(time.time()) - 3 * DAY, 600)

    scrobbled = cli("scrobble", input=jsonl(events))
    flushed = cli("flush")

    assert scrobbled.returncode == 0, scrobbled.stderr
    assert flushed.returncode == 0, flushed.stderr
    assert fake.throttled == [], "the fake had to answer 429: POSTs came too fast"
    post_gaps = gaps(fake.post_times(HISTORY))
    assert min(post_gaps) >= MIN_POST_GAP, f"POSTs less than 1 s apart: {post_gaps}"
    assert "300 sent in 3 requests" in summary_line(flushed.stderr, service)
    assert held_plays(fake) == expected_plays(fake, events)


@pytest.mark.parametrize("service", ["trakt", "simkl"])
def test_300_plays_reach_the_service_in_three_posts_and_a_rerun_or_repipe_posts_nothing(
    cli: Cli,
    login: Callable[..., None],
    fake_trakt: FakeTrakt,
    fake_simkl: FakeSimkl,
    service: str,
) -> None:
    fake: FakeTrakt | FakeSimkl = fake_trakt if service == "trakt" else fake_simkl
    login(service)
    # The exact 1 s spacing is the strict test's business; here only localhost
    # scheduling jitter is forgiven, not a client that does not pace at all.
    fake.post_slack = LOOSE_SLACK
    events = mixed_events(300, int(time.time()) - 3 * DAY, 600)

    scrobbled = cli("scrobble", input=jsonl(events))
    flushed = cli("flush")

    assert scrobbled.returncode == 0, scrobbled.stderr
    assert "queued 300" in scrobbled.stderr
    assert flushed.returncode == 0, flushed.stderr
    assert "300 sent in 3 requests" in summary_line(flushed.stderr, service)
    assert [items_in(p.json()) for p in history_posts(fake)] == [100, 100, 100]
    assert fake.throttled == [], "the fake had to answer 429: POSTs came too fast"
    post_gaps = gaps(fake.post_times(HISTORY))
    assert len(post_gaps) == 2
    assert min(post_gaps) >= 1 - LOOSE_SLACK, f"POSTs not paced: {post_gaps}"
    held = held_plays(fake)
    assert held == expected_plays(fake, events)
    assert max(held.values()) == 1
    assert fake.problems == []

    requests_before = len(fake.log)
    again = cli("flush")
    repiped = cli("scrobble", input=jsonl(events))
    after_repipe = cli("flush")

    assert again.returncode == 0, again.stderr
    assert repiped.returncode == 0, repiped.stderr
    assert "queued 0" in repiped.stderr
    assert "duplicate 300" in repiped.stderr
    assert after_repipe.returncode == 0, after_repipe.stderr
    assert len(fake.log) == requests_before, "a later run talked to the service again"
    assert len(fake.plays) == 300
    assert status_json(cli)["queue"][service]["completed"] == 300


def test_trakt_429_pauses_the_rest_until_retry_after_and_the_next_flush_sends_it_once(
    cli: Cli, login: Callable[..., None], fake_trakt: FakeTrakt
) -> None:
    login("trakt")
    start = int(time.time()) - 2 * DAY
    events = [movie(i, start + i * 900) for i in range(150)]  # two batches: 100 and 50
    assert cli("scrobble", input=jsonl(events)).returncode == 0
    # Stricter than the documented 1/s, so the 2nd POST gets 429 with several seconds to wait:
    # the next flush must start inside that pause even on a loaded CI machine.
    fake_trakt.post_interval = 8.0

    first = cli("flush")

    assert first.returncode == 0, first.stderr
    line = summary_line(first.stderr, "trakt")
    assert "100 sent in 2 requests" in line
    assert "50 paused until" in line
    [refused_at] = fake_trakt.throttled
    assert len(fake_trakt.plays) == 100

    right_away = cli("flush")
    assert right_away.returncode == 0, right_away.stderr
    assert len(fake_trakt.post_times()) == 2, "a paused flush still posted"
    wait_until(
        lambda: connection(status_json(cli), "trakt")["deferred_until"] is None,
        timeout=30,
        step=0.2,
    )
    later = cli("flush")

    assert later.returncode == 0, later.stderr
    assert "50 sent in 1 request" in summary_line(later.stderr, "trakt")
    assert fake_trakt.throttled == [refused_at]
    resent_at = fake_trakt.post_times()[-1]
    assert resent_at - refused_at >= 2 - 0.05, "sent again before Retry-After (2 s) was over"
    assert held_plays(fake_trakt) == expected_plays(fake_trakt, events)
    assert status_json(cli)["queue"]["trakt"]["completed"] == 150


def test_movie_start_event_scrobbles_start_on_trakt_and_simkl_and_queues_nothing(
    cli: Cli, login: Callable[..., None], fake_trakt: FakeTrakt, fake_simkl: FakeSimkl
) -> None:
    login("trakt", "simkl")
    event = {
        "type": "movie",
        "event": "start",
        "title": "The Matrix",
        "year": 1999,
        "ids": {"tmdb": 603, "imdb": "tt0133093"},
        "duration_ms": 8_160_000,
        "percentage": 12.5,
    }

    result = cli("scrobble", input=jsonl([event]))

    assert result.returncode == 0, result.stderr
    assert "queued 0" in result.stderr
    [shown] = [line for line in result.stderr.splitlines() if line.startswith("now playing on")]
    assert "trakt" in shown
    assert "simkl" in shown
    ids = {"tmdb": 603, "imdb": "tt0133093"}
    assert fake_trakt.scrobbles == [{"movie": {"ids": ids}, "progress": 12.5, "action": "start"}]
    assert fake_simkl.scrobbles == [{"movie": {"ids": ids}, "progress": 12.5, "action": "start"}]
    assert fake_trakt.plays == []
    assert fake_simkl.plays == []
    assert jobs(cli) == []


def test_movies_trakt_and_simkl_cannot_match_are_rejected_and_the_rest_is_added(
    cli: Cli, login: Callable[..., None], fake_trakt: FakeTrakt, fake_simkl: FakeSimkl
) -> None:
    login("trakt", "simkl")
    start = int(time.time()) - DAY
    events = [movie(1, start), movie(2, start + 9_000, tmdb=UNKNOWN_TMDB)]

    assert cli("scrobble", input=jsonl(events)).returncode == 0
    flushed = cli("flush")

    assert flushed.returncode == 1, flushed.stderr
    assert "not found on Trakt" in summary_line(flushed.stderr, "trakt")
    assert "not found on Simkl" in summary_line(flushed.stderr, "simkl")
    assert held_plays(fake_trakt) == Counter([event_key(events[0])])
    assert [(p.kind, str(p.ids["tmdb"])) for p in fake_simkl.plays] == [("movie", "100001")]
    discarded = jobs(cli, "--state", "rejected")
    assert sorted(j["service"] for j in discarded) == ["simkl", "trakt"]
    assert all(j["item"] == "Movie 00002" for j in discarded)
    assert all(j["outcome"].startswith("rejected") for j in discarded)
    assert fake_trakt.throttled == []
    assert fake_simkl.throttled == []


# -- every service at once -----------------------------------------------------------------


def test_play_20_days_old_goes_to_listenbrainz_trakt_and_simkl_but_is_too_old_for_lastfm(
    cli: Cli,
    login: Callable[..., None],
    fake_lb: FakeListenBrainz,
    fake_trakt: FakeTrakt,
    fake_simkl: FakeSimkl,
    fake_lastfm: FakeLastfm,
) -> None:
    login("trakt", "simkl", "lastfm", "listenbrainz")
    old = int(time.time()) - 20 * DAY
    song = track(1, old)
    film = movie(1, old + 3_600)

    scrobbled = cli("scrobble", input=jsonl([song, film]))
    assert scrobbled.returncode == 0, scrobbled.stderr
    queue = status_json(cli)["queue"]
    assert {service: states["available"] for service, states in queue.items()} == {
        "lastfm": 1,
        "listenbrainz": 1,
        "simkl": 1,
        "trakt": 1,
    }

    flushed = cli("flush")

    assert flushed.returncode == 1, flushed.stderr
    assert "too old" in summary_line(flushed.stderr, "lastfm")
    [listen] = fake_lb.received()
    assert listen["listened_at"] == old
    assert listen["track_metadata"]["track_name"] == "Track 00001"
    assert held_plays(fake_trakt) == Counter([event_key(film)])
    [simkl_play] = fake_simkl.plays
    assert simkl_play.kind == "movie"
    assert str(simkl_play.ids["tmdb"]) == str(film["ids"]["tmdb"])
    assert simkl_play.watched_at == iso(old + 3_600).replace(".000Z", "Z")
    assert fake_lastfm.calls_to("track.scrobble") == []
    assert fake_lastfm.stored() == []
    [lastfm_job] = jobs(cli, "--service", "lastfm")
    assert lastfm_job["state"] == "rejected"
    assert lastfm_job["outcome"].startswith("rejected")
    assert "too old" in lastfm_job["outcome"]
    queue = status_json(cli)["queue"]
    for service in ("listenbrainz", "trakt", "simkl"):
        assert queue[service]["completed"] == 1, service
    assert fake_lastfm.problems == []
    assert fake_trakt.problems == []
    assert fake_simkl.problems == []


# -- a flush killed while the service holds the POST -----------------------------------------


@pytest.mark.parametrize("held", [1, 2], ids=["first-post-held", "second-post-held"])
@pytest.mark.parametrize("service", ["trakt", "simkl"])
def test_flush_killed_while_the_post_is_held_then_rerun_leaves_every_play_exactly_once(
    cli: Cli,
    login: Callable[..., None],
    popen_cli: Callable[..., subprocess.Popen[str]],
    fake_trakt: FakeTrakt,
    fake_simkl: FakeSimkl,
    service: str,
    held: int,
) -> None:
    fake: FakeTrakt | FakeSimkl = fake_trakt if service == "trakt" else fake_simkl
    login(service)
    start = int(time.time()) - 5 * DAY
    # 150 plays, two batches (100 and 50), movies and episodes mixed.
    events = [
        movie(i, start + i * 900) if i % 3 else episode(i, start + i * 900) for i in range(150)
    ]
    assert cli("scrobble", input=jsonl(events)).returncode == 0
    fake.post_slack = LOOSE_SLACK  # pacing is not under test here
    hold = fake.hold("POST", HISTORY, skip=held - 1)
    stored_when_killed = 100 if held == 1 else 150

    proc = popen_cli("flush")
    wait_until(
        lambda: len(fake.plays) >= stored_when_killed or proc.poll() is not None, timeout=TIMEOUT
    )
    if proc.poll() is not None:
        _, err = proc.communicate(timeout=TIMEOUT)
        gaps_seen = gaps(fake.post_times(HISTORY))
        pytest.fail(f"flush ended before its POST was held: {err!r}, POST gaps {gaps_seen}")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=TIMEOUT)
    hold.release.set()  # the service stored the batch; its reply goes to a dead client
    assert len(fake.plays) == stored_when_killed
    # The rate limit counts the dead client's POST too: let the next one be on time.
    held_at = fake.post_times(HISTORY)[-1]
    time.sleep(max(0.0, held_at + 1.1 - time.monotonic()))

    again = cli("flush")

    assert again.returncode == 0, again.stderr
    line = summary_line(again.stderr, service)
    assert f"{100 if held == 1 else 50} already there" in line
    assert ("50 sent in 1 request" if held == 1 else "0 sent") in line
    assert fake.throttled == []
    assert held_plays(fake) == expected_plays(fake, events)
    after_kill = [(at, r) for at, r in sorted(fake.log, key=lambda e: e[0]) if at > held_at]
    lookups = [
        at for at, r in after_kill if r.method == "GET" and r.path.startswith(LOOKUP[service])
    ]
    resends = [(at, r) for at, r in after_kill if r.method == "POST" and r.path == HISTORY]
    assert lookups, "the plays in flight were not looked up"
    assert len(resends) == (1 if held == 1 else 0)
    for resent_at, resend in resends:
        assert min(lookups) < resent_at, "sent before looking up the history"
        assert items_in(resend.json()) == 50
    assert status_json(cli)["queue"][service]["completed"] == 150
