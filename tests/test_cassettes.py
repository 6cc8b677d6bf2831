"""The real ListenBrainzClient against vcrpy cassettes (cassettes/listenbrainz/), and a guard that
no cassette holds an unscrubbed secret. cassettes/README.md says how to re-record them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from scrobctl.errors import BadRequest, InvalidToken, RateLimited
from scrobctl.http import ServiceLimiter, make_client
from scrobctl.services.listenbrainz import ListenBrainzClient, listen_for
from scrobctl.store.records import PlayRecord
from tests.conftest import FakeClock
from tests.recording import (
    CASSETTES,
    RECORDING,
    REDACTED_AUTHORIZATION,
    TEST_ENV,
    find_secrets,
    listenbrainz_recorder,
)

BASE = "https://api.listenbrainz.org"

TOKEN = TEST_ENV.get("SCROBCTL_TEST_LB_TOKEN", "dummy-listenbrainz-token")
NOT_A_TOKEN = "scrobctl-deliberately-invalid-token"  # safe to send even when recording

# The listen every submit cassette carries; when recording, it lands on the account (README).
CASSETTE_PLAY = PlayRecord(
    job_id=1,
    play_id=1,
    kind="track",
    watched_at=1_700_000_000,
    title="Cassette Test",
    artist="scrobctl",
    album=None,
    duration_ms=222_000,
    mbid=None,
    isrc=None,
)
# Before 2002-10-01, so the server refuses it; built by hand because listen_for would refuse too.
TOO_OLD_LISTEN = {
    "listened_at": 1_000_000_000,
    "track_metadata": {"artist_name": "scrobctl", "track_name": "Too Old"},
}


@pytest.fixture(autouse=True)
def recording_needs_a_token() -> None:
    if RECORDING and "SCROBCTL_TEST_LB_TOKEN" not in TEST_ENV:
        pytest.fail("set SCROBCTL_TEST_LB_TOKEN to record cassettes (see cassettes/README.md)")


def call(clock: FakeClock, method: str, *args: Any, token: str = TOKEN) -> Any:
    """One client call with the production HTTP client; vcrpy answers it."""

    async def go() -> Any:
        async with make_client() as http:
            client = ListenBrainzClient(BASE, token, http, ServiceLimiter("listenbrainz", clock))
            return await getattr(client, method)(*args)

    return asyncio.run(go())


def recorded_body(name: str) -> Any:
    """The JSON body of a cassette's only response, read after the cassette was used."""
    data = yaml.safe_load((CASSETTES / "listenbrainz" / name).read_text())
    (interaction,) = data["interactions"]
    return json.loads(interaction["response"]["body"]["string"])


# -- replay -----------------------------------------------------------------------------------


def test_cassette_validate_token_valid_returns_the_user_name(clock: FakeClock) -> None:
    with listenbrainz_recorder().use_cassette("validate_token_valid.yaml"):
        account = call(clock, "validate_token")

    assert account.user_name
    assert account.user_name == recorded_body("validate_token_valid.yaml")["user_name"]


def test_cassette_validate_token_invalid_raises_invalid_token(clock: FakeClock) -> None:
    with (
        listenbrainz_recorder().use_cassette("validate_token_invalid.yaml"),
        pytest.raises(InvalidToken, match="not valid"),
    ):
        call(clock, "validate_token", token=NOT_A_TOKEN)

    assert recorded_body("validate_token_invalid.yaml")["valid"] is False


def test_cassette_submit_listens_ok_is_accepted(clock: FakeClock) -> None:
    listens = [listen_for(CASSETTE_PLAY, clock.now())]
    with listenbrainz_recorder().use_cassette("submit_listens_ok.yaml"):
        assert call(clock, "submit_listens", listens) is None

    assert recorded_body("submit_listens_ok.yaml") == {"status": "ok"}


def test_cassette_submit_listens_429_is_rate_limited_until_the_window_resets(
    clock: FakeClock,
) -> None:
    # Always replayed: a real 429 cannot be produced on demand, so this one stays hand-written.
    listens = [listen_for(CASSETTE_PLAY, clock.now())]
    with (
        listenbrainz_recorder("none").use_cassette("submit_listens_429.yaml"),
        pytest.raises(RateLimited) as caught,
    ):
        call(clock, "submit_listens", listens)

    assert caught.value.retry_after == 7 + 1  # X-RateLimit-Reset-In + 1 (api-notes B.3)


def test_cassette_submit_listens_400_is_bad_request_with_the_error_text(
    clock: FakeClock,
) -> None:
    with (
        listenbrainz_recorder().use_cassette("submit_listens_400.yaml"),
        pytest.raises(BadRequest) as caught,
    ):
        call(clock, "submit_listens", [TOO_OLD_LISTEN])

    error = recorded_body("submit_listens_400.yaml")["error"]
    assert caught.value.message == f"listenbrainz: HTTP 400: {error[:200]}"
    assert "Too Old" not in caught.value.message  # the merged listen keys are not echoed


# -- secrets ----------------------------------------------------------------------------------


def test_cassettes_hold_no_unscrubbed_secrets() -> None:
    assert list(CASSETTES.rglob("*.yaml")), "no cassettes found"
    assert find_secrets(CASSETTES) == []


def test_find_secrets_flags_leaked_credentials(tmp_path: Path) -> None:
    (tmp_path / "leaky.yaml").write_text(
        "interactions:\n"
        "- request:\n"
        "    body: api_key=abc123&sk=REDACTED&api_sig=0f0f\n"
        "    headers:\n"
        "      Authorization:\n"
        "      - Token 11111111-2222-3333-4444-555555555555\n"
        "    method: GET\n"
        "    uri: https://api.listenbrainz.org/1/validate-token?token=s3cret\n"
        "  response: {}\n"
        "version: 1\n"
    )
    (tmp_path / "notes.md").write_text("curl -H 'Authorization: Token abc' ...\n")

    found = "\n".join(find_secrets(tmp_path))

    for leak in ("api_key=abc123", "api_sig=0f0f", "token=s3cret", "5555", "Token abc"):
        assert leak in found
    assert "sk=REDACTED" not in found


def test_find_secrets_accepts_redacted_values(tmp_path: Path) -> None:
    (tmp_path / "clean.yaml").write_text(
        "interactions:\n"
        "- request:\n"
        "    headers:\n"
        "      Authorization:\n"
        f"      - {REDACTED_AUTHORIZATION}\n"
        "    uri: https://example.test/?token=REDACTED&api_key=<REDACTED>\n"
        "  response: {}\n"
        "version: 1\n"
    )
    assert find_secrets(tmp_path) == []
