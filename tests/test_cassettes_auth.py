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
dropped rather than replaced: the shared scan in tests/test_cassettes.py accepts only
ListenBrainz's "Token <REDACTED>" form.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pylast
import pytest
import respx
import vcr
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

CASSETTES = Path(__file__).resolve().parent.parent / "cassettes"
AUTH_SERVICES = ("trakt", "simkl", "lastfm")
PROFILE = "default"
REDACTED = "REDACTED"
WEEK = 7 * 86_400

# Read at import time: the autouse isolated_env fixture clears every SCROBCTL_* variable.
RECORD_MODE = os.environ.get("SCROBCTL_VCR_RECORD", "none")
RECORDING = RECORD_MODE != "none"
TEST_ENV = {
    name: os.environ.get(name)
    for name in (
        "SCROBCTL_TEST_TRAKT_CLIENT_ID",
        "SCROBCTL_TEST_TRAKT_CLIENT_SECRET",
        "SCROBCTL_TEST_TRAKT_REFRESH_TOKEN",
        "SCROBCTL_TEST_SIMKL_CLIENT_ID",
        "SCROBCTL_TEST_LASTFM_API_KEY",
        "SCROBCTL_TEST_LASTFM_API_SECRET",
    )
}

# -- what the recorder scrubs, and what the scan checks ---------------------------------------

DROPPED_HEADERS = ("authorization", "cookie")
REPLACED_HEADERS = ("trakt-api-key", "simkl-api-key")
SECRET_QUERY = ("client_id", "client_secret", "api_key", "api_sig", "sk", "token")
SECRET_BODY = (
    "client_id",
    "client_secret",
    "code",
    "refresh_token",
    "token",
    "api_key",
    "api_sig",
    "sk",
)
SECRET_RESPONSE = {
    "trakt": ("access_token", "refresh_token", "device_code"),
    "simkl": ("access_token",),  # Simkl's device_code is always the literal "DEVICE_CODE"
    "lastfm": ("token", "key"),  # key: the session key
}
# Trakt's poll and refresh bodies are JSON: matched with their secrets scrubbed on both sides.
# Last.fm's signed calls are GETs whose query carries the (scrubbed) signature: no body to match.
MATCH_ON = {
    "trakt": ("method", "scheme", "host", "port", "path", "query", "body"),
    "simkl": ("method", "scheme", "host", "port", "path", "query", "body"),
    "lastfm": ("method", "scheme", "host", "port", "path", "query"),
}


def _redact(value: Any, keys: tuple[str, ...]) -> Any:
    if isinstance(value, dict):
        return {k: REDACTED if k in keys else _redact(v, keys) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(item, keys) for item in value]
    return value


def scrub_response(service: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def scrub(response: dict[str, Any]) -> dict[str, Any]:
        response["headers"] = {
            k: v for k, v in response["headers"].items() if k.lower() != "set-cookie"
        }
        raw = response["body"]["string"]
        try:
            data = json.loads(raw)
        except (TypeError, ValueError):
            return response
        body = json.dumps(_redact(data, SECRET_RESPONSE[service])).encode()
        response["body"]["string"] = body
        for name in response["headers"]:
            if name.lower() == "content-length":  # the scrubbed body has a new length
                response["headers"][name] = [str(len(body))]
        return response

    return scrub


def recorder(service: str, record_mode: str = RECORD_MODE, library: Path = CASSETTES) -> vcr.VCR:
    return vcr.VCR(
        cassette_library_dir=str(library / service),
        record_mode=record_mode,
        match_on=MATCH_ON[service],
        filter_headers=[
            *((name, None) for name in DROPPED_HEADERS),
            *((name, REDACTED) for name in REPLACED_HEADERS),
        ],
        filter_query_parameters=[(name, REDACTED) for name in SECRET_QUERY],
        filter_post_data_parameters=[(name, REDACTED) for name in SECRET_BODY],
        before_record_response=scrub_response(service),
        decode_compressed_response=True,
    )


# -- fixtures and helpers ---------------------------------------------------------------------


def needs(*names: str) -> dict[str, str]:
    """The test app's values when recording (fail if missing), dummies when replaying."""
    if not RECORDING:
        return {name: f"dummy-{name.lower()}" for name in names}
    missing = [name for name in names if not TEST_ENV.get(name)]
    if missing:
        pytest.fail(f"set {', '.join(missing)} to record cassettes (see cassettes/README.md)")
    return {name: str(TEST_ENV[name]) for name in names}


class TerminalUI(FakeUI):
    """Records calls; when recording, also tells the person at the terminal what to approve."""

    def show_code(self, code: str | None, url: str, expires_in: int) -> None:
        super().show_code(code, url, expires_in)
        if RECORDING:
            print(f"\napprove {code or 'the request'} at {url}", file=sys.__stderr__)


@pytest.fixture
def live_clock(clock: FakeClock) -> Clock:
    """The fake clock for replays; the real one when a person has to approve a login."""
    return Clock() if RECORDING else clock


@pytest.fixture
def make(isolated_env: Path, live_clock: Clock) -> Iterator[Callable[..., Runtime]]:
    made: list[Runtime] = []

    def build(http_client: Callable[[], httpx.AsyncClient] = make_client, **apps: Any) -> Runtime:
        runtime = make_runtime(isolated_env, live_clock, http_client, **apps)
        made.append(runtime)
        return runtime

    yield build
    for runtime in made:
        runtime.close()


def response_json(interaction: dict[str, Any]) -> Any:
    return json.loads(interaction["response"]["body"]["string"])


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
    make: Callable[..., Runtime],
) -> None:
    env = needs("SCROBCTL_TEST_TRAKT_CLIENT_ID", "SCROBCTL_TEST_TRAKT_CLIENT_SECRET")
    runtime = make(
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
    make: Callable[..., Runtime], live_clock: Clock
) -> None:
    env = needs(
        "SCROBCTL_TEST_TRAKT_CLIENT_ID",
        "SCROBCTL_TEST_TRAKT_CLIENT_SECRET",
        "SCROBCTL_TEST_TRAKT_REFRESH_TOKEN",
    )
    runtime = make(
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
    make: Callable[..., Runtime],
) -> None:
    env = needs("SCROBCTL_TEST_SIMKL_CLIENT_ID")
    runtime = make(simkl={"client_id": env["SCROBCTL_TEST_SIMKL_CLIENT_ID"]})
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
    make: Callable[..., Runtime],
) -> None:
    app = lastfm_app()
    runtime = make(lastfm=app)
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


def test_cassette_lastfm_desktop_auth_requests_are_signed(make: Callable[..., Runtime]) -> None:
    app = lastfm_app()
    sent: list[httpx.Request] = []
    runtime = make(http_client=capturing(sent), lastfm=app)

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

ALLOWED = {REDACTED}
BEARER = re.compile(r"\bBearer\s+(?!<REDACTED>)[\w.~+/-]+")


def _body_params(request: dict[str, Any]) -> dict[str, Any]:
    body = request.get("body") or ""
    if isinstance(body, dict):  # vcrpy's binary form: {"string": ...}
        body = body.get("string") or ""
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    if not body:
        return {}
    try:
        data = json.loads(body)
    except ValueError:
        return dict(parse_qsl(body, keep_blank_values=True))
    return data if isinstance(data, dict) else {}


def _keyed_values(value: Any, keys: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            if k in keys:
                yield k, v
            else:
                yield from _keyed_values(v, keys)
    elif isinstance(value, list):
        for item in value:
            yield from _keyed_values(item, keys)


def find_auth_secrets(root: Path) -> list[str]:
    """Every secret a Trakt, Simkl or Last.fm cassette under `root` would leak: a kept bearer or
    cookie header, an API-key header, or a secret query, body or response value not REDACTED."""
    problems: list[str] = []
    for service in AUTH_SERVICES:
        for path in sorted((root / service).glob("*.yaml")):
            where = f"{service}/{path.name}"
            text = path.read_text(encoding="utf-8")
            if BEARER.search(text):
                problems.append(f"{where}: a bearer token")
            for interaction in (yaml.safe_load(text) or {}).get("interactions", []):
                request = interaction["request"]
                for name, values in (request.get("headers") or {}).items():
                    if name.lower() in DROPPED_HEADERS:
                        problems.append(f"{where}: {name} header")
                    elif name.lower() in REPLACED_HEADERS and values != [REDACTED]:
                        problems.append(f"{where}: {name} {values!r}")
                query = parse_qsl(urlsplit(request["uri"]).query, keep_blank_values=True)
                for name, value in query:
                    if name in SECRET_QUERY and value not in ALLOWED:
                        problems.append(f"{where}: query {name}={value}")
                for name, value in _keyed_values(_body_params(request), SECRET_BODY):
                    if value not in ALLOWED:
                        problems.append(f"{where}: request body {name} {value!r}")
                try:
                    answer = response_json(interaction)
                except (TypeError, ValueError):
                    continue
                for name, value in _keyed_values(answer, SECRET_RESPONSE[service]):
                    if value not in ALLOWED:
                        problems.append(f"{where}: response {name} {value!r}")
    return sorted(set(problems))


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
