"""Last.fm auth (api-notes A.1-A.3, A.8) against respx: request signing checked against pylast
(the reference client, used here only as an oracle), the desktop token flow, and the error codes
that arrive in the body whatever the HTTP status says."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import httpx
import pylast
import pytest
import respx

from scrobctl import kinds
from scrobctl.accounts.common import LoginFailed
from scrobctl.accounts.lastfm import login_lastfm
from scrobctl.errors import InvalidToken, RateLimited, ServiceError, ServiceUnavailable
from scrobctl.http import ServiceLimiter
from scrobctl.runtime import Runtime
from scrobctl.services.lastfm import RATE_LIMIT_WAIT, LastfmClient, api_sig
from scrobctl.store import connections
from scrobctl.targets import resolve
from tests.conftest import FakeClock
from tests.helpers import LASTFM_APP, UNPACED, FakeUI

URL = "https://ws.audioscrobbler.com/2.0/"
AUTH_PAGE = "https://www.last.fm/api/auth/"
API_KEY, SECRET = LASTFM_APP["api_key"], LASTFM_APP["api_secret"]
SESSION_KEY = "d580d57f32848f5dcf574d1ce18d78b2"
TOKEN = "cf45fe5a3e3cebe168480a086d7fe481"
PROFILE = "default"
NOT_AUTHORIZED = {"error": 14, "message": "Unauthorized Token - This token has not been authorized"}
SESSION = {"session": {"name": "RJ", "key": SESSION_KEY, "subscriber": 0}}

T = TypeVar("T")


def pylast_params(method: str, params: dict[str, str], session_key: str | None = None) -> dict:
    """The parameters pylast would send for this call, api_sig included."""
    network = pylast.LastFMNetwork(api_key=API_KEY, api_secret=SECRET, session_key=session_key)
    request = pylast._Request(network, method, params)
    request.sign_it()
    return request.params


def pylast_sig(sent: dict[str, str]) -> str:
    """pylast's signature over what was sent, leaving out what Last.fm does not sign."""
    unsigned = {k: v for k, v in sent.items() if k not in ("format", "api_sig")}
    session_key = unsigned.pop("sk", None)
    method = unsigned.pop("method")
    del unsigned["api_key"]
    return pylast_params(method, unsigned, session_key)["api_sig"]


class LastfmServer:
    """The respx side effect for the API root: answers by `method`, keeps what each call sent."""

    def __init__(self, answers: dict[str, list[httpx.Response]]) -> None:
        self.answers = {method: list(responses) for method, responses in answers.items()}
        self.sent: list[tuple[str, dict[str, str]]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            params = dict(parse_qsl(request.content.decode(), keep_blank_values=True))
        else:
            params = dict(request.url.params)
        self.sent.append((request.method, params))
        return self.answers[params["method"]].pop(0)

    def calls(self, method: str) -> list[dict[str, str]]:
        return [params for _verb, params in self.sent if params["method"] == method]


def serve(lastfm: respx.MockRouter, answers: dict[str, list[httpx.Response]]) -> LastfmServer:
    server = LastfmServer(answers)
    lastfm.route(url__startswith=URL).mock(side_effect=server)
    return server


def lastfm_client(
    http: httpx.AsyncClient, clock: FakeClock, session_key: str | None = None
) -> LastfmClient:
    limiter = ServiceLimiter("lastfm", clock, limits=UNPACED)
    return LastfmClient(URL, API_KEY, SECRET, http, limiter, session_key)


def with_client(
    clock: FakeClock, use: Callable[[LastfmClient], Awaitable[T]], session_key: str | None = None
) -> T:
    async def go() -> T:
        async with httpx.AsyncClient() as http:
            client = lastfm_client(http, clock, session_key)
            return await use(client)

    return asyncio.run(go())


def test_repr_shows_no_key_secret_or_session_key(clock: FakeClock) -> None:
    async def shown(client: LastfmClient) -> str:
        return repr(client)

    text = with_client(clock, shown, SESSION_KEY)
    assert URL in text
    assert API_KEY not in text and SECRET not in text and SESSION_KEY not in text


def error(code: int, message: str = "x", status: int = 400) -> httpx.Response:
    return httpx.Response(status, json={"error": code, "message": message})


# -- api_sig ----------------------------------------------------------------------------------

SIGNED_CASES = {
    "auth.getToken": ("auth.getToken", {}, None),
    "auth.getSession": ("auth.getSession", {"token": TOKEN}, None),
    "unicode": (
        "track.love",
        {"artist": "Sigur Rós", "track": "Hoppípolla ✓", "album": "東京事変 💃"},
        SESSION_KEY,
    ),
    "arrays": (
        "track.scrobble",
        {
            **{f"artist[{i}]": f"Artist {i}" for i in range(11)},
            **{f"track[{i}]": f"Track {i}" for i in range(11)},
            **{f"timestamp[{i}]": str(1_700_000_000 + 300 * i) for i in range(11)},
            "album[0]": "Ágætis byrjun",
        },
        SESSION_KEY,
    ),
    "reserved characters": (
        "track.updateNowPlaying",
        {"artist": "AC/DC", "track": "T.N.T. & = ? + %20", "duration": "215"},
        SESSION_KEY,
    ),
}


@pytest.mark.parametrize("case", list(SIGNED_CASES))
def test_api_sig_equals_pylasts_signature(case: str) -> None:
    method, params, session_key = SIGNED_CASES[case]
    expected = pylast_params(method, params, session_key)

    ours = {k: v for k, v in expected.items() if k != "api_sig"}

    assert api_sig(ours, SECRET) == expected["api_sig"]


def test_api_sig_matches_the_documented_example() -> None:
    params = {"api_key": "AAA", "method": "auth.getSession", "token": "TTT"}
    expected = hashlib.md5(b"api_keyAAAmethodauth.getSessiontokenTTT" + SECRET.encode())

    assert api_sig(params, SECRET) == expected.hexdigest()


def test_api_sig_sorts_array_params_as_strings() -> None:
    params = {"artist[1]": "b", "artist[10]": "c", "album[0]": "a", "method": "m"}
    # "artist[10]" sorts before "artist[1]" because "0" < "]" (api-notes A.3).
    text = "album[0]a" + "artist[10]c" + "artist[1]b" + "methodm" + SECRET

    assert api_sig(params, SECRET) == hashlib.md5(text.encode()).hexdigest()


def test_api_sig_leaves_out_format_and_api_sig() -> None:
    params = {"api_key": API_KEY, "method": "auth.getToken"}

    with_extras = {**params, "format": "json", "api_sig": "0" * 32, "callback": "cb"}

    assert api_sig(with_extras, SECRET) == api_sig(params, SECRET)


@pytest.mark.parametrize("case", list(SIGNED_CASES))
def test_signed_params_are_pylasts_params_plus_format_json(case: str, clock: FakeClock) -> None:
    method, params, session_key = SIGNED_CASES[case]

    async def go() -> dict[str, str]:
        async with httpx.AsyncClient() as http:
            client = lastfm_client(http, clock, session_key)
            return client.signed_params(method, params)

    assert asyncio.run(go()) == {**pylast_params(method, params, session_key), "format": "json"}


def test_call_post_sends_exactly_the_signed_params(api: respx.MockRouter, clock: FakeClock) -> None:
    server = serve(api, {"track.love": [httpx.Response(200, json={})]})
    method, params, _ = SIGNED_CASES["unicode"]

    with_client(
        clock, lambda c: c.call(method, params, signed=True, post=True), session_key=SESSION_KEY
    )

    ((verb, sent),) = server.sent
    assert verb == "POST"
    assert {k: sent[k] for k in params} == params
    assert sent["api_sig"] == pylast_sig(sent)
    assert sent["format"] == "json"


def test_get_token_is_signed(api: respx.MockRouter, clock: FakeClock) -> None:
    server = serve(api, {"auth.getToken": [httpx.Response(200, json={"token": TOKEN})]})

    assert with_client(clock, lambda c: c.get_token()) == TOKEN

    (sent,) = server.calls("auth.getToken")
    assert sent["api_key"] == API_KEY
    assert sent["api_sig"] == pylast_sig(sent)


# -- login ------------------------------------------------------------------------------------


def serve_login(lastfm: respx.MockRouter, *session_answers: httpx.Response) -> LastfmServer:
    return serve(
        lastfm,
        {
            "auth.getToken": [httpx.Response(200, json={"token": TOKEN})],
            "auth.getSession": list(session_answers),
        },
    )


@pytest.fixture
def logged_in(
    apps_configured: Runtime, api: respx.MockRouter
) -> tuple[Runtime, FakeUI, LastfmServer]:
    """Not yet authorised twice (error 14, HTTP 403), then a session."""
    server = serve_login(
        api,
        httpx.Response(403, json=NOT_AUTHORIZED),
        httpx.Response(403, json=NOT_AUTHORIZED),
        httpx.Response(200, json=SESSION),
    )
    ui = FakeUI()
    asyncio.run(login_lastfm(apps_configured, PROFILE, ui))
    return apps_configured, ui, server


def test_login_lastfm_shows_the_auth_url_with_api_key_and_token(logged_in: Any) -> None:
    _runtime, ui, _server = logged_in
    url = f"{AUTH_PAGE}?api_key={API_KEY}&token={TOKEN}"

    assert ui.called("show_code") == [(None, url, 3600)]
    assert ui.called("offer_browser") == [(url,)]


def test_login_lastfm_signs_every_auth_call(logged_in: Any) -> None:
    _runtime, _ui, server = logged_in

    assert len(server.sent) == 4
    for _verb, sent in server.sent:
        assert sent["api_sig"] == pylast_sig(sent)


def test_login_lastfm_asks_for_the_session_with_the_token_until_authorised(
    logged_in: Any, clock: FakeClock
) -> None:
    _runtime, _ui, server = logged_in

    assert [c["token"] for c in server.calls("auth.getSession")] == [TOKEN] * 3
    assert clock.slept == [5.0, 5.0, 5.0]


def test_login_lastfm_stores_only_the_session_key(logged_in: Any) -> None:
    runtime, _ui, _server = logged_in

    assert runtime.tokens().get(PROFILE, "lastfm") == {"session_key": SESSION_KEY}


def test_login_lastfm_saves_the_connection_with_the_account_name(logged_in: Any) -> None:
    runtime, _ui, _server = logged_in

    saved = connections.get_connection(runtime.store(), PROFILE, "lastfm")
    assert saved is not None
    assert (saved.account, saved.token_expires_at, saved.status) == ("RJ", None, "ok")


def test_login_lastfm_expired_token_raises_login_failed(
    apps_configured: Runtime, api: respx.MockRouter
) -> None:
    serve_login(
        api,
        httpx.Response(403, json=NOT_AUTHORIZED),
        error(15, "Token has expired", status=403),
    )

    with pytest.raises(LoginFailed, match="expired") as caught:
        asyncio.run(login_lastfm(apps_configured, PROFILE, FakeUI()))

    assert "scrobctl login lastfm" in (caught.value.hint or "")
    assert apps_configured.tokens().get(PROFILE, "lastfm") is None
    assert connections.get_connection(apps_configured.store(), PROFILE, "lastfm") is None


# -- errors -----------------------------------------------------------------------------------


def test_account_error_9_on_user_get_info_raises_invalid_token(
    apps_configured: Runtime, api: respx.MockRouter
) -> None:
    apps_configured.tokens().set(PROFILE, "lastfm", {"session_key": SESSION_KEY})
    server = serve(api, {"user.getInfo": [error(9, "Invalid session key", status=403)]})

    with pytest.raises(InvalidToken) as caught:
        asyncio.run(kinds.account(apps_configured, resolve(apps_configured, PROFILE, "lastfm")))

    assert caught.value.hint == "run `scrobctl login lastfm`"
    (sent,) = server.calls("user.getInfo")
    assert sent["sk"] == SESSION_KEY
    assert sent["api_sig"] == pylast_sig(sent)


@pytest.mark.parametrize(("code", "status"), [(11, 503), (16, 500), (16, 200)])
def test_call_temporary_errors_raise_service_unavailable(
    api: respx.MockRouter, clock: FakeClock, code: int, status: int
) -> None:
    serve(api, {"user.getInfo": [error(code, "try later", status)]})

    with pytest.raises(ServiceUnavailable, match=f"error {code}"):
        with_client(clock, lambda c: c.call("user.getInfo", signed=False, post=False))


def test_call_error_29_raises_rate_limited(api: respx.MockRouter, clock: FakeClock) -> None:
    serve(api, {"user.getInfo": [error(29, "Rate Limit Exceeded", 429)]})

    with pytest.raises(RateLimited) as caught:
        with_client(clock, lambda c: c.call("user.getInfo", signed=False, post=False))

    assert caught.value.retry_after == RATE_LIMIT_WAIT


def test_call_error_29_names_the_service_once(api: respx.MockRouter, clock: FakeClock) -> None:
    serve(api, {"user.getInfo": [error(29, "Rate Limit Exceeded", 429)]})

    with pytest.raises(RateLimited) as caught:
        with_client(clock, lambda c: c.call("user.getInfo", signed=False, post=False))

    assert caught.value.message == "lastfm: error 29: Rate Limit Exceeded"


def test_call_200_with_an_error_body_is_an_error(api: respx.MockRouter, clock: FakeClock) -> None:
    serve(api, {"auth.getToken": [error(13, "Invalid method signature supplied", 200)]})

    with pytest.raises(ServiceError) as caught:
        with_client(clock, lambda c: c.get_token())

    assert getattr(caught.value, "code", None) == 13
    assert "API_SECRET" in (caught.value.hint or "")
    assert isinstance(caught.value, ServiceError)
