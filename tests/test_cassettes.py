"""The real ListenBrainzClient against vcrpy cassettes (cassettes/listenbrainz/), and a guard that
no cassette holds an unscrubbed secret. cassettes/README.md says how to re-record them."""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import vcr
import yaml

from scrobctl.errors import BadRequest, InvalidToken, RateLimited
from scrobctl.http import ServiceLimiter, make_client
from scrobctl.services.listenbrainz import ListenBrainzClient, listen_for
from scrobctl.store.records import PlayRecord
from tests.conftest import FakeClock

CASSETTES = Path(__file__).resolve().parent.parent / "cassettes"
BASE = "https://api.listenbrainz.org"
REDACTED_AUTHORIZATION = "Token <REDACTED>"

# Read at import time: the autouse isolated_env fixture clears every SCROBCTL_* variable before a
# test body runs. Without SCROBCTL_VCR_RECORD nothing is recorded and an unknown request fails.
RECORD_MODE = os.environ.get("SCROBCTL_VCR_RECORD", "none")
RECORDING = RECORD_MODE != "none"
TOKEN = os.environ.get("SCROBCTL_TEST_LB_TOKEN", "dummy-listenbrainz-token")
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


def recorder(record_mode: str = RECORD_MODE) -> vcr.VCR:
    return vcr.VCR(
        cassette_library_dir=str(CASSETTES / "listenbrainz"),
        record_mode=record_mode,
        # Replace rather than drop the header, so a cassette still shows it was sent.
        filter_headers=[("authorization", REDACTED_AUTHORIZATION)],
        filter_query_parameters=[("token", "REDACTED")],  # validate-token's legacy ?token=
        decode_compressed_response=True,
    )


@pytest.fixture(autouse=True)
def recording_needs_a_token() -> None:
    if RECORDING and "SCROBCTL_TEST_LB_TOKEN" not in os.environ:
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
    with recorder().use_cassette("validate_token_valid.yaml"):
        account = call(clock, "validate_token")

    assert account.user_name
    assert account.user_name == recorded_body("validate_token_valid.yaml")["user_name"]


def test_cassette_validate_token_invalid_raises_invalid_token(clock: FakeClock) -> None:
    with (
        recorder().use_cassette("validate_token_invalid.yaml"),
        pytest.raises(InvalidToken, match="not valid"),
    ):
        call(clock, "validate_token", token=NOT_A_TOKEN)

    assert recorded_body("validate_token_invalid.yaml")["valid"] is False


def test_cassette_submit_listens_ok_is_accepted(clock: FakeClock) -> None:
    listens = [listen_for(CASSETTE_PLAY, clock.now())]
    with recorder().use_cassette("submit_listens_ok.yaml"):
        assert call(clock, "submit_listens", listens) is None

    assert recorded_body("submit_listens_ok.yaml") == {"status": "ok"}


def test_cassette_submit_listens_429_is_rate_limited_until_the_window_resets(
    clock: FakeClock,
) -> None:
    # Always replayed: a real 429 cannot be produced on demand, so this one stays hand-written.
    listens = [listen_for(CASSETTE_PLAY, clock.now())]
    with (
        recorder("none").use_cassette("submit_listens_429.yaml"),
        pytest.raises(RateLimited) as caught,
    ):
        call(clock, "submit_listens", listens)

    assert caught.value.retry_after == 7 + 1  # X-RateLimit-Reset-In + 1 (api-notes B.3)


def test_cassette_submit_listens_400_is_bad_request_with_the_error_text(
    clock: FakeClock,
) -> None:
    with (
        recorder().use_cassette("submit_listens_400.yaml"),
        pytest.raises(BadRequest) as caught,
    ):
        call(clock, "submit_listens", [TOO_OLD_LISTEN])

    error = recorded_body("submit_listens_400.yaml")["error"]
    assert caught.value.message == f"listenbrainz: HTTP 400: {error[:200]}"
    assert "Too Old" not in caught.value.message  # the merged listen keys are not echoed


# -- secrets ----------------------------------------------------------------------------------

# A value is what follows `=` up to a separator; `token=` alone (as in prose) holds nothing.
SECRET_PARAMETER = re.compile(r"(?<![\w-])(token|api_key|sk|api_sig)=([^&\s'\"\]`,]+)", re.I)
AUTHORIZATION_VALUE = re.compile(
    r"authorization['\"]?[ \t]*[:=][ \t]*\[?[ \t]*['\"]?([^\n'\"\]]*)", re.I
)
REDACTED_VALUES = {"REDACTED", "<REDACTED>"}


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _authorization_headers(cassette: Any) -> Iterator[str]:
    for interaction in (cassette or {}).get("interactions", []):
        for side in ("request", "response"):
            for name, values in ((interaction.get(side) or {}).get("headers") or {}).items():
                if name.lower() == "authorization":
                    yield from values if isinstance(values, list) else [values]


def find_secrets(root: Path) -> list[str]:
    """Every secret-looking value under `root`: an Authorization header other than the
    redacted form, or a token/api_key/sk/api_sig parameter whose value is not REDACTED."""
    problems: list[str] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        text = path.read_text(encoding="utf-8", errors="replace")
        texts = [text]
        if path.suffix in (".yaml", ".yml"):
            cassette = yaml.safe_load(text)
            texts.extend(_strings(cassette))  # folded YAML strings, read whole
            for value in _authorization_headers(cassette):
                if value != REDACTED_AUTHORIZATION:
                    problems.append(f"{path.name}: Authorization header {value!r}")
        for chunk in texts:
            for match in SECRET_PARAMETER.finditer(chunk):
                if match.group(2) not in REDACTED_VALUES:
                    problems.append(f"{path.name}: {match.group(0)}")
            for match in AUTHORIZATION_VALUE.finditer(chunk):
                value = match.group(1).strip()
                if value and value != REDACTED_AUTHORIZATION:
                    problems.append(f"{path.name}: Authorization {value!r}")
    return sorted(set(problems))


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
