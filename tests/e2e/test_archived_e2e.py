"""End to end: no play is left behind (issues 17 and 21). A play recorded when no target takes it
is said so at scrobble time, shown by `status` per target once one is connected with the `sync`
command that sends it, and reaches the target after `scrobctl sync --to ...` and `scrobctl
flush` (the README's route); `login --queue-archived` still queues them at once."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import GOOD_TOKEN, Cli, jsonl, status_json, track_events
from tests.fakes.listenbrainz import FakeListenBrainz


def login_lb(cli: Cli, *extra: str) -> Any:
    result = cli("login", "listenbrainz", "--token-stdin", *extra, input=GOOD_TOKEN + "\n")
    assert result.returncode == 0, result.stderr
    return result


def test_play_scrobbled_before_login_is_reported_then_reaches_listenbrainz(
    cli: Cli, fake_lb: FakeListenBrainz
) -> None:
    scrobbled = cli("scrobble", input=jsonl(track_events(1)))

    assert scrobbled.returncode == 0, scrobbled.stderr
    [warning] = [line for line in scrobbled.stderr.splitlines() if line.startswith("warning:")]
    assert "1 track play recorded only" in warning
    assert "no service is logged in" in warning and "scrobctl login listenbrainz" in warning

    login = login_lb(cli)

    assert "1 archived play recorded before this login is not on listenbrainz" in login.stderr
    assert "`scrobctl sync --to listenbrainz` queues those it lacks" in login.stderr
    [gap] = status_json(cli)["lacking"]
    assert gap == {
        "profile": "default",
        "target": "listenbrainz",
        "plays": 1,
        "command": "scrobctl sync --to listenbrainz",
    }

    queued = cli("sync", "--to", "listenbrainz")

    assert queued.returncode == 0, queued.stderr
    assert "listenbrainz: queued 1 play" in queued.stderr
    assert status_json(cli)["lacking"] == []
    flushed = cli("flush")
    assert flushed.returncode == 0, flushed.stderr
    [listen] = fake_lb.received()
    assert listen["track_metadata"]["track_name"] == "Track 00000"
    assert status_json(cli)["lacking"] == []


def test_login_queue_archived_still_queues_them_at_once(
    cli: Cli, fake_lb: FakeListenBrainz
) -> None:
    assert cli("scrobble", input=jsonl(track_events(2))).returncode == 0
    login_lb(cli)

    queued = cli("login", "listenbrainz", "--queue-archived")

    assert "queued 2 archived plays for listenbrainz" in queued.stderr
    assert cli("flush").returncode == 0
    assert len(fake_lb.received()) == 2


def test_first_login_with_queue_archived_queues_what_came_before(
    cli: Cli, fake_lb: FakeListenBrainz
) -> None:
    assert cli("scrobble", input=jsonl(track_events(3))).returncode == 0

    login = login_lb(cli, "--queue-archived")

    assert "queued 3 archived plays for listenbrainz" in login.stderr
    assert cli("flush").returncode == 0
    assert len(fake_lb.received()) == 3


def test_plays_after_login_are_not_counted_as_lacking(cli: Cli, logged_in: Any) -> None:
    assert cli("scrobble", input=jsonl(track_events(2))).returncode == 0

    assert status_json(cli)["lacking"] == []


def test_scrobble_warns_when_the_profile_has_no_logins(cli: Cli, logged_in: Any) -> None:
    [event] = track_events(1)
    event["profile"] = "defualt"

    result = cli("scrobble", input=jsonl([event]))

    assert result.returncode == 0, result.stderr
    [warning] = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert "1 track play recorded only" in warning
    assert "profile 'defualt' has no logins (profiles with logins: default)" in warning


def test_scrobble_warns_under_quiet_too(cli: Cli) -> None:
    result = cli("-q", "scrobble", input=jsonl(track_events(2)))

    assert "warning: 2 track plays recorded only" in result.stderr
