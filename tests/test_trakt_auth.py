"""Trakt auth (api-notes 0-2, 7) against respx: the device-code flow on the OAuth host, rotating
refresh tokens, the headers every API call needs, the account-level errors, and revoke on logout.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import respx

from scrobctl import __version__
from scrobctl.accounts import trakt as trakt_accounts
from scrobctl.accounts.common import LoginFailed
from scrobctl.accounts.logout import logout
from scrobctl.accounts.trakt import access_token, login_trakt
from scrobctl.errors import InvalidToken, RateLimited, ServiceError, ServiceUnavailable
from scrobctl.http import ServiceLimiter, make_client
from scrobctl.runtime import Runtime
from scrobctl.services.trakt import (
    OOB_REDIRECT,
    DeviceCode,
    Poll,
    RefreshFailed,
    TokenSet,
    TraktAuth,
    TraktClient,
)
from scrobctl.store import connections
from tests.conftest import FakeClock
from tests.helpers import TRAKT_APP, UNPACED, FakeUI

AUTH = "https://auth.trakt.tv"
API = "https://api.trakt.tv"
APP = TRAKT_APP
CLIENT_ID, CLIENT_SECRET = APP["client_id"], APP["client_secret"]
PROFILE = "default"
NOW = 1_795_000_000  # FakeClock's start
WEEK = 7 * 86_400  # the device-flow token lifetime in 2026 (api-notes 0.1)
DEVICE = {
    "device_code": "d3v1c3-c0d3",
    "user_code": "5055CC52",
    "verification_url": "https://trakt.tv/activate",
    "expires_in": 600,
    "interval": 5,
}
SETTINGS = {
    "user": {"username": "sean", "private": False, "vip": True, "ids": {"slug": "sean"}},
    "account": {"timezone": "America/Los_Angeles"},
}

T = TypeVar("T")


def token_body(
    access: str = "access-1",
    refresh: str = "refresh-1",
    created_at: int = NOW,
    expires_in: int = WEEK,
) -> dict[str, Any]:
    return {
        "access_token": access,
        "token_type": "bearer",
        "expires_in": expires_in,
        "refresh_token": refresh,
        "scope": "public",
        "created_at": created_at,
    }


@pytest.fixture
def trakt() -> Iterator[respx.MockRouter]:
    """Both Trakt hosts; a request to anything not routed fails the test."""
    with respx.mock(assert_all_called=False) as router:
        yield router


def with_auth(clock: FakeClock, use: Callable[[TraktAuth], Awaitable[T]]) -> T:
    async def go() -> T:
        async with httpx.AsyncClient() as http:
            auth = TraktAuth(
                AUTH,
                CLIENT_ID,
                CLIENT_SECRET,
                http,
                ServiceLimiter("trakt-auth", clock, limits=UNPACED),
            )
            return await use(auth)

    return asyncio.run(go())


def test_auth_repr_shows_no_client_secret(clock: FakeClock) -> None:
    async def shown(auth: TraktAuth) -> str:
        return repr(auth)

    text = with_auth(clock, shown)
    assert AUTH in text
    assert CLIENT_SECRET not in text


def with_client(clock: FakeClock, use: Callable[[TraktClient], Awaitable[T]]) -> T:
    """The API client on the production HTTP client (it is what sets the User-Agent)."""

    async def go() -> T:
        async with make_client() as http:
            client = TraktClient(
                API, CLIENT_ID, "access-1", http, ServiceLimiter("trakt", clock, limits=UNPACED)
            )
            return await use(client)

    return asyncio.run(go())


def body(route: respx.Route, index: int = -1) -> Any:
    return json.loads(route.calls[index].request.content)


# -- device code and poll ---------------------------------------------------------------------


def test_device_code_posts_the_client_id_to_the_auth_host(
    trakt: respx.MockRouter, clock: FakeClock
) -> None:
    route = trakt.post(f"{AUTH}/oauth/device/code").respond(200, json=DEVICE)

    with_auth(clock, lambda auth: auth.device_code())

    assert body(route) == {"client_id": CLIENT_ID}


def test_device_code_returns_the_code_interval_and_lifetime(
    trakt: respx.MockRouter, clock: FakeClock
) -> None:
    trakt.post(f"{AUTH}/oauth/device/code").respond(200, json=DEVICE)

    code = with_auth(clock, lambda auth: auth.device_code())

    assert code == DeviceCode(**DEVICE)


def test_poll_posts_code_client_id_and_client_secret(
    trakt: respx.MockRouter, clock: FakeClock
) -> None:
    route = trakt.post(f"{AUTH}/oauth/device/token").respond(400)

    with_auth(clock, lambda auth: auth.poll("d3v1c3-c0d3"))

    assert body(route) == {
        "code": "d3v1c3-c0d3",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }


def test_poll_200_returns_the_token_set_expiring_at_created_at_plus_expires_in(
    trakt: respx.MockRouter, clock: FakeClock
) -> None:
    trakt.post(f"{AUTH}/oauth/device/token").respond(200, json=token_body(created_at=NOW - 10))

    result = with_auth(clock, lambda auth: auth.poll("d3v1c3-c0d3"))

    assert isinstance(result, TokenSet)
    assert (result.access_token, result.refresh_token) == ("access-1", "refresh-1")
    assert result.expires_at == NOW - 10 + WEEK


@pytest.mark.parametrize(
    ("status", "state"),
    [
        (400, Poll.PENDING),
        (404, Poll.INVALID),
        (409, Poll.USED),
        (410, Poll.EXPIRED),
        (418, Poll.DENIED),
        (429, Poll.SLOW_DOWN),
    ],
)
def test_poll_maps_the_status_to_its_state(
    trakt: respx.MockRouter, clock: FakeClock, status: int, state: Poll
) -> None:
    # The pending 400 has no usable JSON body (api-notes 2.1); none of these need one.
    trakt.post(f"{AUTH}/oauth/device/token").respond(status, text="")

    assert with_auth(clock, lambda auth: auth.poll("d3v1c3-c0d3")) is state


# -- login ------------------------------------------------------------------------------------


def serve_login(trakt: respx.MockRouter, *poll_statuses: int) -> dict[str, respx.Route]:
    answers = [
        httpx.Response(200, json=token_body()) if s == 200 else httpx.Response(s)
        for s in poll_statuses
    ]
    return {
        "code": trakt.post(f"{AUTH}/oauth/device/code").respond(200, json=DEVICE),
        "poll": trakt.post(f"{AUTH}/oauth/device/token").mock(side_effect=answers),
        "settings": trakt.get(f"{API}/users/settings").respond(200, json=SETTINGS),
    }


@pytest.fixture
def logged_in(
    apps_configured: Runtime, trakt: respx.MockRouter
) -> tuple[Runtime, FakeUI, dict[str, respx.Route], Any]:
    """A login against pending, pending, slow down, pending, success."""
    routes = serve_login(trakt, 400, 400, 429, 400, 200)
    ui = FakeUI()
    result = asyncio.run(login_trakt(apps_configured, PROFILE, ui))
    return apps_configured, ui, routes, result


def test_login_trakt_stores_the_token_set_in_the_token_store(logged_in: Any) -> None:
    runtime, _ui, _routes, _result = logged_in

    assert runtime.tokens().get(PROFILE, "trakt") == token_body()


def test_login_trakt_saves_the_connection_with_account_and_expiry(logged_in: Any) -> None:
    runtime, _ui, _routes, result = logged_in

    saved = connections.get_connection(runtime.store(), PROFILE, "trakt")
    assert saved is not None
    assert (saved.account, saved.token_expires_at, saved.status) == ("sean", NOW + WEEK, "ok")
    assert (result.account, result.expires_at) == ("sean", NOW + WEEK)


def test_login_trakt_polls_until_success_and_doubles_the_interval_after_slow_down(
    logged_in: Any, clock: FakeClock
) -> None:
    _runtime, _ui, routes, _result = logged_in

    assert routes["poll"].call_count == 5
    assert clock.slept == [5, 5, 5, 10, 10]


def test_login_trakt_shows_the_code_and_offers_the_verification_url(logged_in: Any) -> None:
    _runtime, ui, _routes, _result = logged_in

    assert ui.called("show_code") == [("5055CC52", "https://trakt.tv/activate", 600)]
    assert ui.called("offer_browser") == [("https://trakt.tv/activate",)]


def test_login_trakt_reads_the_account_with_the_new_token(logged_in: Any) -> None:
    _runtime, _ui, routes, _result = logged_in

    request = routes["settings"].calls.last.request
    assert request.headers["Authorization"] == "Bearer access-1"


@pytest.mark.parametrize(
    ("status", "cause"),
    [
        (404, "did not recognise the device code"),
        (409, "already used"),
        (410, "expired"),
        (418, "denied"),
    ],
)
def test_login_trakt_poll_failure_raises_login_failed_naming_the_cause(
    apps_configured: Runtime, trakt: respx.MockRouter, status: int, cause: str
) -> None:
    routes = serve_login(trakt, 400, status)

    with pytest.raises(LoginFailed, match=cause) as caught:
        asyncio.run(login_trakt(apps_configured, PROFILE, FakeUI()))

    assert "scrobctl login trakt" in (caught.value.hint or "")
    assert routes["poll"].call_count == 2
    assert apps_configured.tokens().get(PROFILE, "trakt") is None
    assert connections.get_connection(apps_configured.store(), PROFILE, "trakt") is None


def test_login_trakt_gives_up_when_the_code_expires(
    apps_configured: Runtime, trakt: respx.MockRouter, clock: FakeClock
) -> None:
    trakt.post(f"{AUTH}/oauth/device/code").respond(200, json=DEVICE)
    poll = trakt.post(f"{AUTH}/oauth/device/token").respond(400)

    with pytest.raises(LoginFailed, match="expired"):
        asyncio.run(login_trakt(apps_configured, PROFILE, FakeUI()))

    assert poll.call_count == DEVICE["expires_in"] // DEVICE["interval"]
    assert clock.now() == NOW + DEVICE["expires_in"]


# -- refresh ----------------------------------------------------------------------------------


def test_refresh_posts_the_refresh_token_grant_with_the_oob_redirect(
    trakt: respx.MockRouter, clock: FakeClock
) -> None:
    route = trakt.post(f"{AUTH}/oauth/token").respond(200, json=token_body("access-2", "ref-2"))

    with_auth(clock, lambda auth: auth.refresh("refresh-1"))

    assert body(route) == {
        "refresh_token": "refresh-1",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uri": OOB_REDIRECT,
        "grant_type": "refresh_token",
    }
    assert OOB_REDIRECT == "urn:ietf:wg:oauth:2.0:oob"


def store_login(runtime: Runtime, created_at: int, expires_in: int = WEEK) -> None:
    secret = token_body(created_at=created_at, expires_in=expires_in)
    runtime.tokens().set(PROFILE, "trakt", secret)
    connections.save_login(runtime.store(), PROFILE, "trakt", "sean", created_at + expires_in)


def get_access_token(runtime: Runtime) -> str:
    async def go() -> str:
        async with runtime.http_client() as http:
            return await access_token(runtime, PROFILE, http)

    return asyncio.run(go())


REFRESHED = token_body("access-2", "refresh-2", created_at=NOW, expires_in=WEEK)
REFUSED = httpx.Response(
    400,
    json={
        "error": "invalid_grant",
        "error_description": "The provided authorization grant is invalid, expired, revoked",
    },
)


@pytest.fixture
def near_expiry(apps_configured: Runtime) -> Runtime:
    """A token with one minute left: inside the one-hour refresh margin."""
    store_login(apps_configured, created_at=NOW - WEEK + 60)
    return apps_configured


def test_access_token_far_from_expiry_returns_the_stored_token_without_a_request(
    apps_configured: Runtime, trakt: respx.MockRouter
) -> None:
    store_login(apps_configured, created_at=NOW - 86_400)

    assert get_access_token(apps_configured) == "access-1"
    assert trakt.calls.call_count == 0


def test_access_token_margin_is_a_tenth_of_a_short_lifetime(
    apps_configured: Runtime, trakt: respx.MockRouter
) -> None:
    # A one-hour token with 400 s left is outside its 360 s margin: no refresh yet.
    store_login(apps_configured, created_at=NOW - 3200, expires_in=3600)

    assert get_access_token(apps_configured) == "access-1"
    assert trakt.calls.call_count == 0


def test_access_token_within_the_margin_refreshes_and_returns_the_new_token(
    near_expiry: Runtime, trakt: respx.MockRouter
) -> None:
    route = trakt.post(f"{AUTH}/oauth/token").respond(200, json=REFRESHED)

    assert get_access_token(near_expiry) == "access-2"
    assert route.call_count == 1
    assert body(route)["refresh_token"] == "refresh-1"


def test_access_token_refresh_saves_the_new_rotated_pair(
    near_expiry: Runtime, trakt: respx.MockRouter
) -> None:
    trakt.post(f"{AUTH}/oauth/token").respond(200, json=REFRESHED)

    get_access_token(near_expiry)

    assert near_expiry.tokens().get(PROFILE, "trakt") == REFRESHED


def test_access_token_refresh_updates_the_connection_expiry(
    near_expiry: Runtime, trakt: respx.MockRouter
) -> None:
    trakt.post(f"{AUTH}/oauth/token").respond(200, json=REFRESHED)

    get_access_token(near_expiry)

    saved = connections.get_connection(near_expiry.store(), PROFILE, "trakt")
    assert saved is not None
    assert saved.token_expires_at == NOW + WEEK


def test_access_token_after_a_refresh_uses_the_new_token_without_refreshing_again(
    near_expiry: Runtime, trakt: respx.MockRouter
) -> None:
    route = trakt.post(f"{AUTH}/oauth/token").respond(200, json=REFRESHED)

    get_access_token(near_expiry)

    assert get_access_token(near_expiry) == "access-2"
    assert route.call_count == 1


def test_access_token_reuses_a_refresh_made_while_it_waited_for_the_lock(
    near_expiry: Runtime, trakt: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The refresh token is single-use: a process that waited for the lock must not spend the
    old one again once the lock holder has saved a new pair."""

    @contextmanager
    def another_process_refreshed_first(path: Path, what: str, *, wait: bool) -> Iterator[None]:
        near_expiry.tokens().set(PROFILE, "trakt", REFRESHED)
        yield

    monkeypatch.setattr(trakt_accounts, "exclusive", another_process_refreshed_first)
    route = trakt.post(f"{AUTH}/oauth/token").respond(200, json=token_body("x", "y"))

    assert get_access_token(near_expiry) == "access-2"
    assert route.call_count == 0


def test_access_token_refused_refresh_marks_the_connection_reconnect_required(
    near_expiry: Runtime, trakt: respx.MockRouter
) -> None:
    trakt.post(f"{AUTH}/oauth/token").mock(return_value=REFUSED)

    with pytest.raises(InvalidToken):
        get_access_token(near_expiry)

    saved = connections.get_connection(near_expiry.store(), PROFILE, "trakt")
    assert saved is not None
    assert saved.status == connections.RECONNECT_REQUIRED
    assert "scrobctl login trakt" in (saved.status_detail or "")


def test_access_token_refused_refresh_raises_invalid_token_naming_the_login_command(
    near_expiry: Runtime, trakt: respx.MockRouter
) -> None:
    trakt.post(f"{AUTH}/oauth/token").mock(return_value=REFUSED)

    with pytest.raises(RefreshFailed) as caught:
        get_access_token(near_expiry)

    assert isinstance(caught.value, InvalidToken)
    assert caught.value.hint == "run `scrobctl login trakt`"
    assert "invalid" in caught.value.message


INVALID_CLIENT = httpx.Response(
    401,
    json={
        "error": "invalid_client",
        "error_description": "Client authentication failed due to unknown client",
    },
)


def test_access_token_refresh_refused_for_the_app_leaves_the_login_connected(
    near_expiry: Runtime, trakt: respx.MockRouter
) -> None:
    trakt.post(f"{AUTH}/oauth/token").mock(return_value=INVALID_CLIENT)

    with pytest.raises(ServiceError) as caught:
        get_access_token(near_expiry)

    assert not isinstance(caught.value, RefreshFailed)
    assert "client id or secret" in caught.value.message
    assert "oauth/applications" in (caught.value.hint or "")
    saved = connections.get_connection(near_expiry.store(), PROFILE, "trakt")
    assert saved is not None
    assert saved.status != connections.RECONNECT_REQUIRED


# -- API requests -----------------------------------------------------------------------------


def test_client_requests_carry_the_required_headers(
    trakt: respx.MockRouter, clock: FakeClock
) -> None:
    route = trakt.get(f"{API}/users/settings").respond(200, json=SETTINGS)

    account = with_client(clock, lambda client: client.account())

    headers = route.calls.last.request.headers
    assert account.username == "sean"
    assert headers["trakt-api-version"] == "2"
    assert headers["trakt-api-key"] == CLIENT_ID
    assert headers["Authorization"] == "Bearer access-1"
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"] == f"scrobctl/{__version__}"


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (403, "Trakt refused the app"),
        (420, "over its limit"),
        (423, "locked; contact Trakt support"),
        (426, "needs Trakt VIP"),
    ],
)
def test_client_account_errors_have_clear_messages(
    trakt: respx.MockRouter, clock: FakeClock, status: int, message: str
) -> None:
    trakt.get(f"{API}/users/settings").respond(status, text="")

    with pytest.raises(ServiceError, match=message) as caught:
        with_client(clock, lambda client: client.account())

    # Not worth retrying, and not a token problem (api-notes 7.2).
    assert not isinstance(caught.value, ServiceUnavailable | RateLimited | InvalidToken)


def test_client_420_names_the_upgrade_url(trakt: respx.MockRouter, clock: FakeClock) -> None:
    trakt.get(f"{API}/users/settings").respond(
        420, headers={"X-Upgrade-URL": "https://trakt.tv/vip", "X-Account-Limit": "100000"}
    )

    with pytest.raises(ServiceError, match=r"\(https://trakt.tv/vip\)"):
        with_client(clock, lambda client: client.account())


def test_client_401_raises_invalid_token_naming_the_login_command(
    trakt: respx.MockRouter, clock: FakeClock
) -> None:
    trakt.get(f"{API}/users/settings").respond(401, json={"error": "invalid_token"})

    with pytest.raises(InvalidToken) as caught:
        with_client(clock, lambda client: client.account())

    assert caught.value.hint == "run `scrobctl login trakt`"


# -- logout -----------------------------------------------------------------------------------


def test_logout_revokes_the_access_token(apps_configured: Runtime, trakt: respx.MockRouter) -> None:
    store_login(apps_configured, created_at=NOW)
    route = trakt.post(f"{AUTH}/oauth/revoke").respond(200, json={})

    result = asyncio.run(logout(apps_configured, PROFILE, "trakt", drop_queue=False))

    assert body(route) == {
        "token": "access-1",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    assert result.revoke_error is None


def test_logout_forgets_the_token_and_the_connection(
    apps_configured: Runtime, trakt: respx.MockRouter
) -> None:
    store_login(apps_configured, created_at=NOW)
    trakt.post(f"{AUTH}/oauth/revoke").respond(200, json={})

    result = asyncio.run(logout(apps_configured, PROFILE, "trakt", drop_queue=False))

    assert result.was_connected
    assert apps_configured.tokens().get(PROFILE, "trakt") is None
    assert connections.get_connection(apps_configured.store(), PROFILE, "trakt") is None


@pytest.mark.parametrize(
    "failure",
    [httpx.Response(503, text="upstream down"), httpx.ConnectError("no route to host")],
    ids=["503", "network"],
)
def test_logout_forgets_locally_when_revoke_fails(
    apps_configured: Runtime, trakt: respx.MockRouter, failure: httpx.Response | Exception
) -> None:
    store_login(apps_configured, created_at=NOW)
    trakt.post(f"{AUTH}/oauth/revoke").mock(side_effect=[failure])

    result = asyncio.run(logout(apps_configured, PROFILE, "trakt", drop_queue=False))

    assert result.revoke_error is not None and "trakt" in result.revoke_error
    assert result.was_connected
    assert apps_configured.tokens().get(PROFILE, "trakt") is None
    assert connections.get_connection(apps_configured.store(), PROFILE, "trakt") is None
