"""End to end: login respects the user (issue 17): it checks the token can be kept before
asking for one, does not log in again by accident, answers a refused token with what to do,
and names the host it could not reach."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import GOOD_TOKEN, Cli, fake_service_env
from tests.fakes.listenbrainz import FakeListenBrainz
from tests.fakes.trakt import FakeTrakt

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def fake_trakt(cli_env: dict[str, str]) -> Iterator[FakeTrakt]:
    fake = FakeTrakt()
    fake.poll_statuses = [200]
    with fake:
        cli_env.update(fake_service_env(trakt=fake))
        yield fake


def test_login_when_already_logged_in_asks_for_force(cli: Cli, logged_in: Any) -> None:
    again = cli("login", "listenbrainz", "--token-stdin", input="another-token\n")
    forced = cli("login", "listenbrainz", "--token-stdin", "--force", input=GOOD_TOKEN + "\n")

    assert again.returncode == 2
    assert "already logged in to listenbrainz as rob" in again.stderr
    assert "--force" in again.stderr
    assert forced.returncode == 0, forced.stderr


def test_a_refused_token_is_not_answered_with_the_command_just_run(
    cli: Cli, fake_lb: FakeListenBrainz
) -> None:
    result = cli("login", "listenbrainz", "--token-stdin", input="wrong-token\n")

    assert result.returncode == 1
    assert "scrobctl login listenbrainz" not in result.stderr
    assert "listenbrainz.org/settings" in result.stderr


def test_a_network_error_names_the_host_and_what_was_tried(
    cli: Cli, cli_env: dict[str, str]
) -> None:
    cli_env["SCROBCTL_LISTENBRAINZ__API_URL"] = "http://127.0.0.1:9"  # discard: nothing listens

    result = cli("login", "listenbrainz", "--token-stdin", input=GOOD_TOKEN + "\n")

    assert result.returncode == 1
    assert "GET http://127.0.0.1:9/1/validate-token" in result.stderr
    assert GOOD_TOKEN not in result.stderr


def test_a_keyring_that_cannot_store_is_found_before_the_device_code(
    cli: Cli, cli_env: dict[str, str], fake_trakt: FakeTrakt
) -> None:
    cli_env["SCROBCTL_TOKEN_STORE"] = "keyring"
    cli_env["PYTHON_KEYRING_BACKEND"] = "tests.fakes.locked_keyring.LockedKeyring"
    cli_env["PYTHONPATH"] = str(REPO)

    result = cli("login", "trakt", "--no-browser")

    assert result.returncode == 1, result.stderr
    assert "keyring" in result.stderr
    assert fake_trakt.requests == []  # no code was shown for a login that could not be kept
