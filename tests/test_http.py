"""HTTP policy (src/scrobctl/http.py): retry timing, status mapping, rate-limit pauses, transport
errors and the client's identity. No test touches the network: respx answers every request."""

from __future__ import annotations

import asyncio
import email.utils

import httpx
import pytest
import respx

from scrobctl import __version__
from scrobctl.errors import (
    BadRequest,
    InvalidToken,
    ItemNotFound,
    RateLimited,
    ServiceUnavailable,
)
from scrobctl.http import (
    BACKOFF_BASE,
    BACKOFF_CAP,
    ServiceLimiter,
    backoff_delay,
    describe,
    make_client,
    raise_for_status,
    retry_after,
    send,
)
from tests.conftest import FakeClock

NOW = 1_795_000_000.0
URL = "https://api.example.test/thing"


def response(status: int, headers: dict[str, str] | None = None, **kwargs) -> httpx.Response:
    return httpx.Response(status, headers=headers, request=httpx.Request("GET", URL), **kwargs)


class EdgeRng:
    """A stand-in for random.Random that always picks one end of the jitter range."""

    def __init__(self, end: str) -> None:
        self.end = end

    def uniform(self, low: float, high: float) -> float:
        return low if self.end == "low" else high


# -- retry_after ------------------------------------------------------------------------------


def test_retry_after_parses_seconds() -> None:
    assert retry_after(httpx.Headers({"Retry-After": "120"}), NOW) == 120.0


def test_retry_after_parses_http_date() -> None:
    when = email.utils.formatdate(NOW + 90, usegmt=True)
    assert retry_after(httpx.Headers({"Retry-After": when}), NOW) == 90.0


def test_retry_after_http_date_in_the_past_is_zero() -> None:
    when = email.utils.formatdate(NOW - 90, usegmt=True)
    assert retry_after(httpx.Headers({"Retry-After": when}), NOW) == 0.0


def test_retry_after_uses_ratelimit_reset_in_plus_one() -> None:
    # api-notes B.3: wait X-RateLimit-Reset-In seconds (+1), the window ends within that second.
    assert retry_after(httpx.Headers({"X-RateLimit-Reset-In": "7"}), NOW) == 8.0


def test_retry_after_prefers_retry_after_over_reset_in() -> None:
    headers = httpx.Headers({"Retry-After": "30", "X-RateLimit-Reset-In": "7"})
    assert retry_after(headers, NOW) == 30.0


def test_retry_after_is_none_when_absent() -> None:
    assert retry_after(httpx.Headers({}), NOW) is None


@pytest.mark.parametrize(
    "headers",
    [
        {"Retry-After": "soon"},
        {"Retry-After": "-5"},
        {"X-RateLimit-Reset-In": "a while"},
        {"Retry-After": "", "X-RateLimit-Reset-In": ""},
    ],
)
def test_retry_after_is_none_for_garbage(headers: dict[str, str]) -> None:
    assert retry_after(httpx.Headers(headers), NOW) is None


def test_retry_after_falls_back_to_reset_in_when_retry_after_is_garbage() -> None:
    headers = httpx.Headers({"Retry-After": "soon", "X-RateLimit-Reset-In": "4"})
    assert retry_after(headers, NOW) == 5.0


# -- backoff_delay ----------------------------------------------------------------------------


def test_backoff_delay_grows_exponentially() -> None:
    top = EdgeRng("high")
    assert [backoff_delay(n, top) for n in (1, 2, 3, 4)] == [
        BACKOFF_BASE,
        BACKOFF_BASE * 2,
        BACKOFF_BASE * 4,
        BACKOFF_BASE * 8,
    ]


def test_backoff_delay_jitter_is_half_to_all_of_the_step() -> None:
    assert backoff_delay(3, EdgeRng("low")) == BACKOFF_BASE * 4 * 0.5
    assert backoff_delay(3, EdgeRng("high")) == BACKOFF_BASE * 4


def test_backoff_delay_with_real_jitter_stays_in_range() -> None:
    import random

    rng = random.Random(1234)
    for attempt in range(1, 12):
        step = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))
        for _ in range(50):
            assert 0.5 * step <= backoff_delay(attempt, rng) <= step


def test_backoff_delay_is_capped() -> None:
    assert backoff_delay(20, EdgeRng("high")) == BACKOFF_CAP
    assert backoff_delay(20, EdgeRng("low")) == BACKOFF_CAP / 2


# -- raise_for_status -------------------------------------------------------------------------


def test_raise_for_status_passes_success() -> None:
    raise_for_status("svc", response(200, json={"status": "ok"}), now=NOW)


def test_raise_for_status_maps_429_to_rate_limited_with_retry_after() -> None:
    with pytest.raises(RateLimited) as caught:
        raise_for_status("svc", response(429, {"Retry-After": "42"}), now=NOW)
    assert caught.value.retry_after == 42.0
    assert caught.value.service == "svc"


def test_raise_for_status_maps_429_without_header_to_a_default_wait() -> None:
    with pytest.raises(RateLimited) as caught:
        raise_for_status("svc", response(429), now=NOW)
    assert caught.value.retry_after > 0


def test_raise_for_status_maps_401_to_invalid_token() -> None:
    body = {"code": 401, "error": "Invalid authorization token."}
    with pytest.raises(InvalidToken) as caught:
        raise_for_status("svc", response(401, json=body), login_hint="run it", now=NOW)
    assert caught.value.hint == "run it"
    assert "Invalid authorization token." in caught.value.message


def test_raise_for_status_maps_404_to_item_not_found() -> None:
    with pytest.raises(ItemNotFound):
        raise_for_status("svc", response(404, json={"code": 404, "error": "Not found"}), now=NOW)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_raise_for_status_maps_5xx_to_service_unavailable(status: int) -> None:
    with pytest.raises(ServiceUnavailable):
        raise_for_status("svc", response(status), now=NOW)


@pytest.mark.parametrize("status", [400, 422])
def test_raise_for_status_maps_400_and_422_to_bad_request(status: int) -> None:
    body = {"code": status, "error": "Value for key listened_at is too high."}
    with pytest.raises(BadRequest) as caught:
        raise_for_status("svc", response(status, json=body), now=NOW)
    assert "listened_at is too high" in caught.value.message


# -- describe ---------------------------------------------------------------------------------


def test_describe_uses_the_api_error_message() -> None:
    body = {"code": 400, "error": "JSON document does not contain any listens."}
    assert describe(response(400, json=body)) == (
        "HTTP 400: JSON document does not contain any listens."
    )


def test_describe_reads_only_code_and_error_of_a_merged_listen_body() -> None:
    # api-notes B.2: on listen-validation 400s the listen's own keys are merged into the body.
    body = {
        "listened_at": 1,
        "track_metadata": {"artist_name": "Private Artist", "track_name": "T"},
        "code": 400,
        "error": "Value for key listened_at is too low.",
    }
    text = describe(response(400, json=body))
    assert text == "HTTP 400: Value for key listened_at is too low."


def test_describe_html_error_page_says_so_without_the_body() -> None:
    page = "<html><head><title>502 Bad Gateway</title></head><body>nginx secret-ish</body></html>"
    resp = response(502, {"Content-Type": "text/html; charset=utf-8"}, text=page)
    text = describe(resp)
    assert text == "HTTP 502 (an HTML page, not the API's answer)"
    for fragment in ("<", "Bad Gateway", "nginx", "secret-ish"):
        assert fragment not in text


def test_describe_non_json_body_is_never_included() -> None:
    resp = response(500, {"Content-Type": "text/plain"}, text="Traceback: token=abc123")
    assert describe(resp) == "HTTP 500"


# -- ServiceLimiter ---------------------------------------------------------------------------


def test_service_limiter_observe_pauses_until_the_window_resets(clock: FakeClock) -> None:
    limiter = ServiceLimiter("listenbrainz", clock=clock)
    spent = response(200, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset-In": "10"})

    async def go() -> None:
        limiter.observe(spent)
        await limiter.wait()

    asyncio.run(go())
    assert clock.slept == [11.0]  # Reset-In + 1


def test_service_limiter_observe_does_not_pause_while_requests_remain(clock: FakeClock) -> None:
    limiter = ServiceLimiter("listenbrainz", clock=clock)
    fine = response(200, {"X-RateLimit-Remaining": "3", "X-RateLimit-Reset-In": "10"})

    async def go() -> None:
        limiter.observe(fine)
        await limiter.wait()

    asyncio.run(go())
    assert clock.slept == []


def test_service_limiter_wait_does_not_pause_after_the_window_passed(clock: FakeClock) -> None:
    limiter = ServiceLimiter("listenbrainz", clock=clock)
    limiter.observe(response(200, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset-In": "10"}))
    clock.t += 60

    asyncio.run(limiter.wait())
    assert clock.slept == []


# -- send -------------------------------------------------------------------------------------


def _send_with(answer: httpx.Response | Exception, clock: FakeClock) -> httpx.Response:
    """send() one GET whose answer (a response, or a transport error) respx supplies."""

    async def go() -> httpx.Response:
        async with httpx.AsyncClient() as client:
            limiter = ServiceLimiter("svc", clock=clock)
            return await send(client, limiter, client.build_request("GET", URL))

    with respx.mock() as mock:
        route = mock.get(URL)
        if isinstance(answer, Exception):
            route.mock(side_effect=answer)
        else:
            route.mock(return_value=answer)
        return asyncio.run(go())


@pytest.mark.parametrize(
    "error", [httpx.ReadTimeout("slow"), httpx.ConnectTimeout("slow"), httpx.PoolTimeout("busy")]
)
def test_send_maps_timeouts_to_service_unavailable(
    error: httpx.TimeoutException, clock: FakeClock
) -> None:
    with pytest.raises(ServiceUnavailable, match="timed out"):
        _send_with(error, clock)


@pytest.mark.parametrize(
    "error",
    [
        httpx.ConnectError("refused"),
        httpx.ReadError("reset by peer"),
        httpx.RemoteProtocolError("eof"),
    ],
)
def test_send_maps_connection_errors_to_service_unavailable(
    error: httpx.TransportError, clock: FakeClock
) -> None:
    with pytest.raises(ServiceUnavailable, match=f"network error \\({type(error).__name__}\\)"):
        _send_with(error, clock)


def test_send_returns_a_successful_response(clock: FakeClock) -> None:
    resp = _send_with(httpx.Response(200, json={"status": "ok"}), clock)
    assert resp.json() == {"status": "ok"}


def test_send_maps_an_error_status(clock: FakeClock) -> None:
    with pytest.raises(ServiceUnavailable):
        _send_with(httpx.Response(503, json={"code": 503, "error": "try later"}), clock)


# -- make_client ------------------------------------------------------------------------------


def test_make_client_sets_user_agent() -> None:
    async def go() -> httpx.Request:
        async with make_client() as client:
            await client.get(URL)
        return route.calls.last.request

    with respx.mock() as mock:
        route = mock.get(URL).respond(200)
        request = asyncio.run(go())
    assert request.headers["User-Agent"] == f"scrobctl/{__version__}"
