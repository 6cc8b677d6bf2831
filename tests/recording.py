"""vcrpy for the cassette tests (cassettes/README.md): the recorders' scrubbing, the test
accounts' values when recording (dummies when replaying), and the scans proving no cassette holds
an unscrubbed secret."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import vcr
import yaml

from scrobctl.clock import Clock
from scrobctl.http import make_client
from scrobctl.runtime import Runtime
from scrobctl.store import connections
from tests.helpers import FakeUI, make_runtime

CASSETTES = Path(__file__).resolve().parent.parent / "cassettes"
PROFILE = "default"
WEEK = 7 * 86_400
# Read at import time: the autouse isolated_env fixture clears every SCROBCTL_* variable before a
# test body runs. Without SCROBCTL_VCR_RECORD nothing is recorded and an unknown request fails.
RECORD_MODE = os.environ.get("SCROBCTL_VCR_RECORD", "none")
RECORDING = RECORD_MODE != "none"
TEST_ENV = {name: value for name, value in os.environ.items() if name.startswith("SCROBCTL_TEST_")}
REDACTED = "REDACTED"
REDACTED_AUTHORIZATION = "Token <REDACTED>"
AUTH_SERVICES = ("trakt", "simkl", "lastfm")


# -- what the recorders scrub -------------------------------------------------------------

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


def listenbrainz_recorder(
    record_mode: str = RECORD_MODE, library: Path = CASSETTES, *, match_body: bool = False
) -> vcr.VCR:
    """ListenBrainz's Authorization header kept as "Token <REDACTED>" (the one form the scan
    accepts) and validate-token's legacy ?token= replaced; `match_body`: the JSON body too."""
    match_on = ("method", "scheme", "host", "port", "path", "query")
    return vcr.VCR(
        cassette_library_dir=str(library / "listenbrainz"),
        record_mode=record_mode,
        match_on=(*match_on, "body") if match_body else match_on,
        # Replace rather than drop the header, so a cassette still shows it was sent.
        filter_headers=[("authorization", REDACTED_AUTHORIZATION)],
        filter_query_parameters=[("token", REDACTED)],
        decode_compressed_response=True,
    )


# Real-looking values for the tests proving a recorder scrubs them all.
SECRETS = {
    "client_id": "cid-5f1e0c2a9b",
    "client_secret": "csecret-77d0e4a1",
    "access_token": "access-3c9a1f6e2d",
    "api_key": "apikey-0a1b2c3d4e",
    "api_secret": "apisecret-9f8e7d6c",
    "session_key": "session-1234abcd",
    "token": "lbtoken-11112222-3333-4444-5555-666677778888",
}


# -- test accounts ---------------------------------------------------------------------------


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


CREDENTIALS = {
    "trakt": ("client_id", "client_secret", "access_token"),
    "simkl": ("client_id", "access_token"),
    "lastfm": ("api_key", "api_secret", "session_key"),
}


def credentials(service: str) -> dict[str, str]:
    """The test account's values when recording (fail if missing), dummies when replaying."""
    names = CREDENTIALS[service]
    if not RECORDING:
        return {name: f"dummy-{service}-{name}" for name in names}
    env = {name: TEST_ENV.get(f"SCROBCTL_TEST_{service}_{name}".upper()) for name in names}
    missing = [f"SCROBCTL_TEST_{service}_{n}".upper() for n, v in env.items() if not v]
    if missing:
        where = "tests/test_cassettes_scrobble.py's docstring"
        pytest.fail(f"set {', '.join(missing)} to record cassettes (see {where})")
    return {name: str(value) for name, value in env.items()}


def logged_in(
    service: str,
    data_dir: Path,
    clock: Clock,
    creds: dict[str, str],
    http_client: Callable[[], httpx.AsyncClient] = make_client,
) -> Runtime:
    """A runtime logged in to `service` with `creds`, its API app in the settings."""
    if service == "trakt":
        app = {"trakt": {"client_id": creds["client_id"], "client_secret": creds["client_secret"]}}
        secret: dict[str, Any] = {
            "access_token": creds["access_token"],
            "refresh_token": "not-used",
            "expires_in": WEEK,
            "created_at": int(clock.now()),  # fresh: no refresh on the way
        }
    elif service == "simkl":
        app = {"simkl": {"client_id": creds["client_id"]}}
        secret = {"access_token": creds["access_token"]}
    else:
        app = {"lastfm": {"api_key": creds["api_key"], "api_secret": creds["api_secret"]}}
        secret = {"session_key": creds["session_key"]}
    runtime = make_runtime(data_dir, clock, http_client, **app)
    runtime.tokens().set(PROFILE, service, secret)
    connections.save_login(runtime.store(), PROFILE, service, "scrobctl-test")
    return runtime


# -- reading cassettes back -----------------------------------------------------------------


def response_json(interaction: dict[str, Any]) -> Any:
    return json.loads(interaction["response"]["body"]["string"])


# -- the secret scans -------------------------------------------------------------------------

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
