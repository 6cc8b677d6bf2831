"""End to end: notify.url tells the user when nobody is looking (issue 17). The installed
scrobctl sends through Apprise's ntfy:// scheme to a fake ntfy server on 127.0.0.1, which
counts the messages it is given."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import GOOD_TOKEN, Cli, jsonl, track_events
from tests.fakes.listenbrainz import FakeListenBrainz
from tests.fakes.ntfy import FakeNtfy

TOPIC = "scrobctl-e2e"


@pytest.fixture
def ntfy(cli_env: dict[str, str]) -> Iterator[FakeNtfy]:
    fake = FakeNtfy()
    with fake:
        cli_env["SCROBCTL_NOTIFY__URL"] = f"ntfy://{urlsplit(fake.url).netloc}/{TOPIC}"
        yield fake


def test_revoked_listenbrainz_token_sends_one_notification_until_it_changes(
    cli: Cli, logged_in: Any, fake_lb: FakeListenBrainz, ntfy: FakeNtfy
) -> None:
    events = track_events(6)
    assert cli("scrobble", input=jsonl(events[:2])).returncode == 0
    fake_lb.tokens.clear()  # revoked on listenbrainz.org

    first = cli("flush")
    assert cli("scrobble", input=jsonl(events[2:4])).returncode == 0
    second = cli("flush")
    third = cli("flush")

    assert [first.returncode, second.returncode, third.returncode] == [3, 3, 3]
    [message] = ntfy.received(TOPIC)
    assert message.title == "scrobctl: listenbrainz needs a new login"
    assert "scrobctl login listenbrainz" in message.message
    assert GOOD_TOKEN not in message.message

    fake_lb.tokens["second-token"] = "rob"
    relogin = cli("login", "listenbrainz", "--token-stdin", input="second-token\n")
    assert relogin.returncode == 0, relogin.stderr
    assert cli("flush").returncode == 0
    assert len(fake_lb.received()) == 4
    fake_lb.tokens.clear()  # revoked again: a new cause
    assert cli("scrobble", input=jsonl(events[4:])).returncode == 0
    assert cli("flush").returncode == 3

    assert len(ntfy.received(TOPIC)) == 2


def test_notify_test_sends_one_message(cli: Cli, ntfy: FakeNtfy) -> None:
    result = cli("notify", "test")

    assert result.returncode == 0, result.stderr
    [message] = ntfy.received(TOPIC)
    assert message.title == "scrobctl: test notification"


def test_notify_test_without_a_url_is_a_configuration_error(
    cli: Cli, cli_env: dict[str, str]
) -> None:
    cli_env.pop("SCROBCTL_NOTIFY__URL", None)

    result = cli("notify", "test")

    assert result.returncode == 2
    assert "SCROBCTL_NOTIFY__URL" in result.stderr


def test_notify_test_reports_an_unreachable_server(
    cli: Cli, cli_env: dict[str, str], ntfy: FakeNtfy
) -> None:
    ntfy.stop()

    result = cli("notify", "test")

    assert result.returncode == 1
    assert "not delivered" in result.stderr
    assert result.stderr.count("\n") == 1  # one line, not Apprise's own log
