"""The Trakt, Simkl and Last.fm login flows replayed from vcrpy cassettes (cassettes/trakt/,
cassettes/simkl/, cassettes/lastfm/) against the real clients and the production HTTP client, and a
guard that no auth cassette holds an unscrubbed secret.

The cassettes were written by hand from the shapes in /work/shared/api-notes/ (Trakt 2.1-2.2,
Simkl 9.2, Last.fm A.2), plus the documented `/users/settings` answers of Trakt and Simkl.

Recording follows cassettes/README.md: SCROBCTL_VCR_RECORD is any vcrpy record mode (default
"none": replay only, an unknown request fails). Recording needs the service's own test app in the
SCROBCTL_TEST_* variables named in `needs()` calls below, and a person: the login tests print the
code or URL to approve on the terminal and poll on the real clock. Recording `trakt/refresh.yaml`
spends SCROBCTL_TEST_TRAKT_REFRESH_TOKEN (Trakt refresh tokens are single-use); log in again after.

Secrets: the recorder replaces client ids, client secrets, device codes, refresh tokens, api_key,
api_sig, sk and token parameters with REDACTED, and access tokens, refresh tokens, Trakt device
codes, Last.fm tokens and session keys in response bodies. The bearer `Authorization` header is
dropped rather than replaced: the shared scan in tests/recording.py accepts only
ListenBrainz's "Token <REDACTED>" form.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pylast
import respx
import yaml

from scrobctl.accounts.lastfm import login_lastfm
from scrobctl.accounts.simkl import login_simkl
from scrobctl.accounts.trakt import access_token, login_trakt
from scrobctl.clock import Clock
from scrobctl.http import make_client
from scrobctl.runtime import Runtime
from scrobctl.store import connections
from tests.conftest import FakeClock
from tests.helpers import FakeUI, capturing, interactions, make_runtime
from tests.recording import (
    AUTH_SERVICES,
    CASSETTES,
    RECORDING,
    TerminalUI,
    find_auth_secrets,
    needs,
    recorder,
    response_json,
)

PROFILE = "default"
WEEK = 7 * 86_400


# -- fixtures and helpers ---------------------------------------------------------------------


def last_ok(service: str, name: str, path: str) -> Any:
    """The JSON body of the last 200 answer to `path` in a cassette, read after it was used."""
    found = [
        response_json(i)
        for i in interactions(service, name)
        if urlsplit(i["request"]["uri"]).path == path and i["response"]["status"]["code"] == 200
    ]
    return found[-1]


# -- Trakt ------------------------------------------------------------------------------------


def test_cassette_trakt_device_login_stores_the_token_set_and_the_account(
    live_runtime: Callable[..., Runtime],
) -> None:
    env = needs("SCROBCTL_TEST_TRAKT_CLIENT_ID", "SCROBCTL_TEST_TRAKT_CLIENT_SECRET")
    runtime = live_runtime(
        trakt={
            "client_id": env["SCROBCTL_TEST_TRAKT_CLIENT_ID"],
            "client_secret": env["SCROBCTL_TEST_TRAKT_CLIENT_SECRET"],
        }
    )

    with recorder("trakt").use_cassette("device_login.yaml") as cassette:
        result = asyncio.run(login_trakt(runtime, PROFILE, TerminalUI()))

    token = last_ok("trakt", "device_login.yaml", "/oauth/device/token")
    user = last_ok("trakt", "device_login.yaml", "/users/settings")["user"]
    assert runtime.tokens().get(PROFILE, "trakt") == token
    assert result.account == user["username"]
    assert result.expires_at == token["created_at"] + token["expires_in"]
    saved = connections.get_connection(runtime.store(), PROFILE, "trakt")
    assert saved is not None and saved.token_expires_at == result.expires_at
    assert RECORDING or cassette.all_played  # the pending poll was replayed too


def test_cassette_trakt_refresh_saves_the_rotated_pair_and_expiry(
    live_runtime: Callable[..., Runtime], live_clock: Clock
) -> None:
    env = needs(
        "SCROBCTL_TEST_TRAKT_CLIENT_ID",
        "SCROBCTL_TEST_TRAKT_CLIENT_SECRET",
        "SCROBCTL_TEST_TRAKT_REFRESH_TOKEN",
    )
    runtime = live_runtime(
        trakt={
            "client_id": env["SCROBCTL_TEST_TRAKT_CLIENT_ID"],
            "client_secret": env["SCROBCTL_TEST_TRAKT_CLIENT_SECRET"],
        }
    )
    created = int(live_clock.now()) - WEEK + 60  # one minute left: due for a refresh
    runtime.tokens().set(
        PROFILE,
        "trakt",
        {
            "access_token": "expiring-access-token",
            "refresh_token": env["SCROBCTL_TEST_TRAKT_REFRESH_TOKEN"],
            "expires_in": WEEK,
            "created_at": created,
            "token_type": "bearer",
            "scope": "public",
        },
    )
    connections.save_login(runtime.store(), PROFILE, "trakt", "scrobctl-test", created + WEEK)

    async def refresh() -> str:
        async with runtime.http_client() as http:
            return await access_token(runtime, PROFILE, http)

    with recorder("trakt").use_cassette("refresh.yaml") as cassette:
        token = asyncio.run(refresh())

    fresh = last_ok("trakt", "refresh.yaml", "/oauth/token")
    assert token == fresh["access_token"]
    assert runtime.tokens().get(PROFILE, "trakt") == fresh
    saved = connections.get_connection(runtime.store(), PROFILE, "trakt")
    assert saved is not None
    assert saved.token_expires_at == fresh["created_at"] + fresh["expires_in"]
    assert RECORDING or cassette.all_played


# -- Simkl ------------------------------------------------------------------------------------


def test_cassette_simkl_pin_login_stores_the_token_and_the_account(
    live_runtime: Callable[..., Runtime],
) -> None:
    env = needs("SCROBCTL_TEST_SIMKL_CLIENT_ID")
    runtime = live_runtime(simkl={"client_id": env["SCROBCTL_TEST_SIMKL_CLIENT_ID"]})
    ui = TerminalUI()

    with recorder("simkl").use_cassette("pin_login.yaml") as cassette:
        result = asyncio.run(login_simkl(runtime, PROFILE, ui))

    pin = last_ok("simkl", "pin_login.yaml", "/oauth/pin")
    approved = response_json(
        [
            i
            for i in interactions("simkl", "pin_login.yaml")
            if "/oauth/pin/" in i["request"]["uri"]
        ][-1]
    )
    user = last_ok("simkl", "pin_login.yaml", "/users/settings")["user"]
    assert ui.called("show_code") == [
        (pin["user_code"], pin["verification_url"], pin["expires_in"])
    ]
    assert runtime.tokens().get(PROFILE, "simkl") == {"access_token": approved["access_token"]}
    assert result.account == user["name"]
    assert RECORDING or cassette.all_played


# -- Last.fm ----------------------------------------------------------------------------------


def lastfm_app() -> dict[str, str]:
    env = needs("SCROBCTL_TEST_LASTFM_API_KEY", "SCROBCTL_TEST_LASTFM_API_SECRET")
    return {
        "api_key": env["SCROBCTL_TEST_LASTFM_API_KEY"],
        "api_secret": env["SCROBCTL_TEST_LASTFM_API_SECRET"],
    }


def test_cassette_lastfm_desktop_auth_stores_the_session_key_and_the_account(
    live_runtime: Callable[..., Runtime],
) -> None:
    app = lastfm_app()
    runtime = live_runtime(lastfm=app)
    ui = TerminalUI()

    with recorder("lastfm").use_cassette("desktop_auth.yaml") as cassette:
        result = asyncio.run(login_lastfm(runtime, PROFILE, ui))

    token = response_json(interactions("lastfm", "desktop_auth.yaml")[0])["token"]
    session = last_ok("lastfm", "desktop_auth.yaml", "/2.0/")["session"]
    ((_code, url, _expires),) = ui.called("show_code")
    assert dict(parse_qsl(urlsplit(url).query)) == {"api_key": app["api_key"], "token": token}
    assert runtime.tokens().get(PROFILE, "lastfm") == {"session_key": session["key"]}
    assert result.account == session["name"]
    assert RECORDING or cassette.all_played  # the not-yet-authorised answer was replayed too


def test_cassette_lastfm_desktop_auth_requests_are_signed(
    live_runtime: Callable[..., Runtime],
) -> None:
    app = lastfm_app()
    sent: list[httpx.Request] = []
    runtime = live_runtime(http_client=capturing(sent), lastfm=app)

    with recorder("lastfm").use_cassette("desktop_auth.yaml"):
        asyncio.run(login_lastfm(runtime, PROFILE, TerminalUI()))

    network = pylast.LastFMNetwork(api_key=app["api_key"], api_secret=app["api_secret"])
    assert [r.url.params["method"] for r in sent][:2] == ["auth.getToken", "auth.getSession"]
    for request in sent:
        params = dict(request.url.params)
        method = params.pop("method")
        signature, fmt = params.pop("api_sig"), params.pop("format")
        del params["api_key"]
        oracle = pylast._Request(network, method, params)
        oracle.sign_it()
        assert (signature, fmt) == (oracle.params["api_sig"], "json")


# -- secrets ----------------------------------------------------------------------------------


def test_auth_cassettes_exist_for_every_flow() -> None:
    names = {f"{p.parent.name}/{p.name}" for s in AUTH_SERVICES for p in (CASSETTES / s).glob("*")}
    assert names >= {
        "trakt/device_login.yaml",
        "trakt/refresh.yaml",
        "simkl/pin_login.yaml",
        "lastfm/desktop_auth.yaml",
    }


def test_auth_cassettes_hold_no_unscrubbed_secrets() -> None:
    assert find_auth_secrets(CASSETTES) == []


LEAKY = """\
interactions:
- request:
    body: '{"code": "dev-123", "client_id": "REDACTED", "client_secret": "hush"}'
    headers:
      Content-Type: [application/json]
      Authorization: [Bearer abc]
      trakt-api-key: [my-client-id]
    method: POST
    uri: https://auth.trakt.tv/oauth/device/token?token=t0k
  response:
    body:
      string: '{"access_token": "at-1", "refresh_token": "REDACTED", "created_at": 1}'
    headers: {}
    status: {code: 200, message: OK}
version: 1
"""


def test_find_auth_secrets_flags_leaked_credentials(tmp_path: Path) -> None:
    (tmp_path / "trakt").mkdir()
    (tmp_path / "trakt" / "leaky.yaml").write_text(LEAKY)

    found = "\n".join(find_auth_secrets(tmp_path))

    for leak in ("dev-123", "hush", "Authorization", "my-client-id", "t0k", "at-1", "bearer"):
        assert leak in found
    assert "refresh_token" not in found
    assert "client_id 'REDACTED'" not in found


RECORDED_SECRETS = {
    "client_id": "cid-0123456789",
    "client_secret": "csecret-0123456789",
    "device_code": "dcode-0123456789",
    "access": "access-0123456789",
    "refresh": "refresh-0123456789",
}


def record_trakt_login(library: Path, clock: FakeClock) -> Path:
    """Record a Trakt login into `library` against respx, which stands in for Trakt and answers
    with the real-looking RECORDED_SECRETS. Returns the cassette written."""
    secrets = RECORDED_SECRETS
    token = {
        "access_token": secrets["access"],
        "refresh_token": secrets["refresh"],
        "expires_in": WEEK,
        "created_at": int(clock.now()),
    }
    runtime = make_runtime(
        library / "recording-data",
        clock,
        make_client,
        trakt={"client_id": secrets["client_id"], "client_secret": secrets["client_secret"]},
    )
    with respx.mock(assert_all_called=True) as trakt:
        trakt.post("https://auth.trakt.tv/oauth/device/code").respond(
            200,
            json={
                "device_code": secrets["device_code"],
                "user_code": "5055CC52",
                "verification_url": "https://trakt.tv/activate",
                "expires_in": 600,
                "interval": 5,
            },
        )
        trakt.post("https://auth.trakt.tv/oauth/device/token").mock(
            side_effect=[httpx.Response(400), httpx.Response(200, json=token)]
        )
        trakt.get("https://api.trakt.tv/users/settings").respond(
            200,
            json={"user": {"username": "sean"}},
            headers={"Set-Cookie": f"session={secrets['access']}"},
        )
        with recorder("trakt", "all", library).use_cassette("login.yaml"):
            asyncio.run(login_trakt(runtime, PROFILE, FakeUI()))
    runtime.close()
    return library / "trakt" / "login.yaml"


def test_recorder_scrubs_every_secret_it_records(tmp_path: Path, clock: FakeClock) -> None:
    cassette = record_trakt_login(tmp_path, clock)

    text = cassette.read_text()
    assert len(yaml.safe_load(text)["interactions"]) == 4
    assert [s for s in RECORDED_SECRETS.values() if s in text] == []
    assert find_auth_secrets(tmp_path) == []


def test_recorded_cassette_replays_with_other_credentials(tmp_path: Path, clock: FakeClock) -> None:
    record_trakt_login(tmp_path, clock)
    runtime = make_runtime(
        tmp_path / "replay-data",
        clock,
        make_client,
        trakt={"client_id": "another-id", "client_secret": "another-secret"},
    )

    with recorder("trakt", "none", tmp_path).use_cassette("login.yaml") as cassette:
        result = asyncio.run(login_trakt(runtime, PROFILE, FakeUI()))
    runtime.close()

    assert result.account == "sean"
    assert cassette.all_played
