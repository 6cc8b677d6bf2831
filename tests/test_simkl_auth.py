"""Simkl auth (api-notes 9, 10.4) against respx: identification on every request, the PIN flow and
its "code is gone" trap, and the token and client-id errors."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import pytest
import respx

from scrobctl import __version__
from scrobctl.accounts.common import LoginFailed
from scrobctl.accounts.simkl import login_simkl
from scrobctl.errors import InvalidToken, ServiceError
from scrobctl.http import ServiceLimiter
from scrobctl.runtime import Runtime
from scrobctl.services.simkl import Pin, SimklClient
from scrobctl.store import connections
from tests.conftest import FakeClock
from tests.helpers import SIMKL_CLIENT_ID, UNPACED, FakeUI

API = "https://api.simkl.com"
CLIENT_ID = SIMKL_CLIENT_ID
PROFILE = "default"
TOKEN = "simkl-access-token"
USER_CODE = "5G6JAH"
PIN = {
    "result": "OK",
    "device_code": "DEVICE_CODE",
    "user_code": USER_CODE,
    "verification_uri": "https://simkl.com/pin",
    "verification_url": "https://simkl.com/pin",
    "expires_in": 900,
    "interval": 5,
}
PENDING = {"result": "KO", "message": "Authorization pending"}
APPROVED = {"result": "OK", "access_token": TOKEN}
SETTINGS = {
    "user": {"name": "Andrew", "joined_at": "2007-11-04T22:04:46Z"},
    "account": {"id": 51, "timezone": "America/New_York", "type": "free"},
    "connections": {"facebook": False},
}

T = TypeVar("T")


def with_client(
    clock: FakeClock, use: Callable[[SimklClient], Awaitable[T]], token: str | None = None
) -> T:
    async def go() -> T:
        async with httpx.AsyncClient() as http:
            client = SimklClient(
                API, CLIENT_ID, http, ServiceLimiter("simkl", clock, limits=UNPACED), token
            )
            return await use(client)

    return asyncio.run(go())


def test_repr_shows_no_token(clock: FakeClock) -> None:
    async def shown(client: SimklClient) -> str:
        return repr(client)

    text = with_client(clock, shown, TOKEN)
    assert API in text
    assert TOKEN not in text


def serve_login(simkl: respx.MockRouter, *polls: dict[str, Any]) -> dict[str, respx.Route]:
    return {
        "pin": simkl.get("/oauth/pin").respond(200, json=PIN),
        "poll": simkl.get(f"/oauth/pin/{USER_CODE}").mock(
            side_effect=[httpx.Response(200, json=p) for p in polls]
        ),
        "settings": simkl.post("/users/settings").respond(200, json=SETTINGS),
    }


# -- identification ---------------------------------------------------------------------------

CALLS: dict[str, Callable[[SimklClient], Awaitable[Any]]] = {
    "pin_code": lambda client: client.pin_code(),
    "poll_pin": lambda client: client.poll_pin(USER_CODE),
    "account": lambda client: client.account(),
}


@pytest.mark.parametrize("call", list(CALLS))
def test_client_sends_client_id_app_name_and_app_version_on_every_request(
    simkl_api: respx.MockRouter, clock: FakeClock, call: str
) -> None:
    serve_login(simkl_api, PENDING)

    with_client(clock, CALLS[call], token=TOKEN if call == "account" else None)

    (sent,) = simkl_api.calls
    params = sent.request.url.params
    assert (params["client_id"], params["app-name"], params["app-version"]) == (
        CLIENT_ID,
        "scrobctl",
        __version__,
    )


def test_client_sends_the_token_as_bearer(simkl_api: respx.MockRouter, clock: FakeClock) -> None:
    route = simkl_api.post("/users/settings").respond(200, json=SETTINGS)

    account = with_client(clock, lambda client: client.account(), token=TOKEN)

    assert account.name == "Andrew"
    assert route.calls.last.request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_client_without_a_token_sends_no_authorization(
    simkl_api: respx.MockRouter, clock: FakeClock
) -> None:
    route = simkl_api.get("/oauth/pin").respond(200, json=PIN)

    with_client(clock, lambda client: client.pin_code())

    assert "Authorization" not in route.calls.last.request.headers


# -- the PIN poll -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected"),
    [(PENDING, Pin.PENDING), (APPROVED, TOKEN), (PIN, Pin.GONE)],
    ids=["pending", "approved", "code-gone"],
)
def test_poll_pin_reads_the_state_from_the_body(
    simkl_api: respx.MockRouter, clock: FakeClock, answer: dict[str, Any], expected: object
) -> None:
    simkl_api.get(f"/oauth/pin/{USER_CODE}").respond(200, json=answer)

    assert with_client(clock, lambda client: client.poll_pin(USER_CODE)) == expected


# -- login ------------------------------------------------------------------------------------


@pytest.fixture
def logged_in(
    apps_configured: Runtime, simkl_api: respx.MockRouter
) -> tuple[Runtime, FakeUI, dict[str, respx.Route], Any]:
    routes = serve_login(simkl_api, PENDING, PENDING, APPROVED)
    ui = FakeUI()
    result = asyncio.run(login_simkl(apps_configured, PROFILE, ui))
    return apps_configured, ui, routes, result


def test_login_simkl_stores_only_the_access_token(logged_in: Any) -> None:
    runtime, _ui, _routes, _result = logged_in

    assert runtime.tokens().get(PROFILE, "simkl") == {"access_token": TOKEN}


def test_login_simkl_saves_the_connection_with_the_account_name(logged_in: Any) -> None:
    runtime, _ui, _routes, result = logged_in

    saved = connections.get_connection(runtime.store(), PROFILE, "simkl")
    assert saved is not None
    assert (saved.account, saved.token_expires_at, saved.status) == ("Andrew", None, "ok")
    assert result.account == "Andrew"


def test_login_simkl_polls_every_interval_until_approved(logged_in: Any, clock: FakeClock) -> None:
    _runtime, _ui, routes, _result = logged_in

    assert routes["poll"].call_count == 3
    assert clock.slept == [5, 5, 5]


def test_login_simkl_shows_the_user_code_and_the_pin_page(logged_in: Any) -> None:
    _runtime, ui, _routes, _result = logged_in

    assert ui.called("show_code") == [(USER_CODE, "https://simkl.com/pin", 900)]
    assert ui.called("offer_browser") == [("https://simkl.com/pin",)]


def test_login_simkl_code_gone_raises_login_failed(
    apps_configured: Runtime, simkl_api: respx.MockRouter
) -> None:
    # An unknown or used code makes Simkl answer with a brand-new code (api-notes 9.2).
    new_code = {**PIN, "user_code": "NEW123"}
    routes = serve_login(simkl_api, PENDING, new_code)

    with pytest.raises(LoginFailed, match="no longer valid") as caught:
        asyncio.run(login_simkl(apps_configured, PROFILE, FakeUI()))

    assert "scrobctl login simkl" in (caught.value.hint or "")
    assert routes["poll"].call_count == 2
    assert apps_configured.tokens().get(PROFILE, "simkl") is None
    assert connections.get_connection(apps_configured.store(), PROFILE, "simkl") is None


# -- errors -----------------------------------------------------------------------------------


def test_client_401_with_a_token_raises_invalid_token(
    simkl_api: respx.MockRouter, clock: FakeClock
) -> None:
    simkl_api.post("/users/settings").respond(
        401, json={"error": "user_token_failed", "code": 401, "message": "Unauthorized"}
    )

    with pytest.raises(InvalidToken) as caught:
        with_client(clock, lambda client: client.account(), token=TOKEN)

    assert caught.value.hint == "run `scrobctl login simkl`"


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(412, json={"error": "client_id_failed", "code": 412, "message": "x"}),
        httpx.Response(412, text=""),
    ],
    ids=["with-error-id", "bare"],
)
def test_client_412_raises_an_error_naming_the_client_id(
    simkl_api: respx.MockRouter, clock: FakeClock, answer: httpx.Response
) -> None:
    simkl_api.get("/oauth/pin").mock(return_value=answer)

    with pytest.raises(ServiceError, match="client id") as caught:
        with_client(clock, lambda client: client.pin_code())

    assert not isinstance(caught.value, InvalidToken)
    assert "https://simkl.com/settings/developer/" in (caught.value.hint or "")


# -- "Slow down" (SIMKL/API apiary.apib l.441-446; issue #15) ----------------------------------

SLOW_DOWN = {"result": "KO", "message": "Slow down"}


def test_poll_pin_reads_slow_down(simkl_api: respx.MockRouter, clock: FakeClock) -> None:
    simkl_api.get(f"/oauth/pin/{USER_CODE}").respond(200, json=SLOW_DOWN)

    assert with_client(clock, lambda client: client.poll_pin(USER_CODE)) is Pin.SLOW_DOWN


def test_login_simkl_slow_down_doubles_the_poll_interval(
    apps_configured: Runtime, simkl_api: respx.MockRouter, clock: FakeClock
) -> None:
    serve_login(simkl_api, PENDING, SLOW_DOWN, PENDING, APPROVED)

    asyncio.run(login_simkl(apps_configured, PROFILE, FakeUI()))

    assert clock.slept == [5, 5, 10, 10]
