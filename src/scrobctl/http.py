"""HTTP policy in one place: client construction, per-service rate limits, retry timing and the
mapping of responses to typed errors.

Client construction stays here alone so that moving to `httpx2` (API-identical) is one import
change once respx supports it.
"""

from __future__ import annotations

import email.utils
import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiolimiter import AsyncLimiter

from scrobctl import __version__
from scrobctl.clock import Clock
from scrobctl.errors import (
    BadRequest,
    InvalidToken,
    ItemNotFound,
    RateLimited,
    ServiceError,
    ServiceUnavailable,
)

USER_AGENT = f"scrobctl/{__version__}"
TIMEOUT = httpx.Timeout(30.0, connect=10.0)

# Requests per period for each service, from each service's documentation.
# "<service>:write" limits POST/PUT/DELETE where a service counts them apart.
RATE_LIMITS: dict[str, tuple[float, float]] = {
    # brainzutils' default is 30 requests / 10 s per IP; production values are read from the
    # X-RateLimit-* headers on every response (api-notes B.3).
    "listenbrainz": (30, 10),
    # AUTHED_API_GET_LIMIT 1000 / 5 min; AUTHED_API_POST_LIMIT 1 call per second (api-notes 7.1).
    "trakt": (1000, 300),
    "trakt:write": (1, 1),
    "trakt-auth": (1, 1),
    # 10 GET/s and 1 POST/s per client id and per token (api-notes 10.4).
    "simkl": (10, 1),
    "simkl:write": (1, 1),
    # No documented number any more; 1 request/s sustained with small bursts is safe (A.9).
    "lastfm": (5, 5),
    # The legacy 40/10 s limit is gone; a soft ceiling near 40 requests/s remains (api-notes 11).
    "tmdb": (20, 1),
}

# Job-level back-off after a transient failure: 30 s, 1 min, 2 min ... capped at 6 h, with jitter.
BACKOFF_BASE = 30.0
BACKOFF_CAP = 6 * 3600.0
# A Retry-After we cannot parse, or a 429 without one, waits this long.
DEFAULT_RETRY_AFTER = 60.0


# Query parameters whose values are credentials; never shown in logs.
SECRET_PARAMS = frozenset({"api_key", "api_sig", "sk", "token", "client_secret", "code"})


def redacted_url(url: httpx.URL) -> str:
    """The URL with credential values replaced, for logs and messages."""
    params = [(k, "REDACTED" if k in SECRET_PARAMS else v) for k, v in url.params.multi_items()]
    return str(url.copy_with(params=params) if params else url)


def make_client(
    *, timeout: httpx.Timeout = TIMEOUT, log: Callable[[str], None] | None = None
) -> httpx.AsyncClient:
    """The one way scrobctl builds an HTTP client. With `log`, each exchange is one line:
    method, URL with credentials redacted, status and time; headers and bodies never."""
    hooks: dict[str, list[Callable[..., Any]]] = {}
    if log is not None:

        async def on_request(request: httpx.Request) -> None:
            request.extensions["scrobctl_started"] = time.monotonic()

        async def on_response(response: httpx.Response) -> None:
            request = response.request
            started = request.extensions.get("scrobctl_started")
            took = f" in {(time.monotonic() - started) * 1000:.0f} ms" if started else ""
            log(f"{request.method} {redacted_url(request.url)} -> {response.status_code}{took}")

        hooks = {"request": [on_request], "response": [on_response]}
    return httpx.AsyncClient(headers={"User-Agent": USER_AGENT}, timeout=timeout, event_hooks=hooks)


def backoff_delay(attempt: int, rng: random.Random | None = None) -> float:
    """Exponential back-off with jitter between half and all of the step, so retries spread out."""
    step = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** min(max(attempt - 1, 0), 32))
    return step * (rng or random).uniform(0.5, 1.0)


def retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds to wait, from `Retry-After` (seconds or HTTP date) or ListenBrainz's
    `X-RateLimit-Reset-In`, which is clock-skew safe."""
    value = headers.get("retry-after")
    if value:
        value = value.strip()
        if value.isdigit():
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            when = None
        if when is not None and when.tzinfo is not None:
            return max(0.0, when.timestamp() - now)
    reset_in = headers.get("x-ratelimit-reset-in")
    if reset_in:
        try:
            return max(0.0, float(reset_in)) + 1  # +1: the window ends within that second
        except ValueError:
            pass
    return None


@dataclass
class ServiceLimiter:
    """A leaky bucket at the documented rate, plus a pause the service itself asked for."""

    service: str
    clock: Clock = field(default_factory=Clock)
    limiter: AsyncLimiter | None = None
    write_limiter: AsyncLimiter | None = None
    not_before: float = 0.0
    # A write limit counts arrivals at the server; our clock only sees departures, and the
    # first request also spends time connecting. So the next write waits a full interval
    # from the moment the previous answer came back.
    write_interval: float = 0.0
    next_write: float = 0.0
    # A named target (issue #19): `service` is its name, for messages; `kind` picks the
    # documented limits, and `rate` is its server type's own where that differs.
    kind: str | None = None
    rate: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        limits = self.kind or self.service
        if self.limiter is None:
            rate, period = self.rate or RATE_LIMITS.get(limits, (1, 1))
            self.limiter = AsyncLimiter(rate, period)
        if self.write_limiter is None and f"{limits}:write" in RATE_LIMITS and self.rate is None:
            rate, period = RATE_LIMITS[f"{limits}:write"]
            self.write_limiter = AsyncLimiter(rate, period)
            self.write_interval = period / rate

    async def wait(self, *, write: bool = False) -> None:
        await self.clock.sleep(self.not_before - self.clock.now())
        if write and self.write_interval:
            await self.clock.sleep(self.next_write - self.clock.now())
        bucket = self.write_limiter if write and self.write_limiter else self.limiter
        assert bucket is not None
        await bucket.acquire()

    @property
    def name(self) -> str:
        """The service as users know it ("trakt-auth" is Trakt's OAuth bucket)."""
        return self.service if self.kind else self.service.split("-")[0]

    def wrote(self) -> None:
        """A write was answered: the next may leave one interval from now."""
        if self.write_interval:
            self.next_write = self.clock.now() + self.write_interval

    def observe(self, response: httpx.Response) -> None:
        """Pause before the next request when the window is spent (X-RateLimit-Remaining: 0)."""
        remaining = response.headers.get("x-ratelimit-remaining")
        if remaining is not None and remaining.strip() == "0":
            wait = retry_after(
                {"x-ratelimit-reset-in": response.headers.get("x-ratelimit-reset-in", "")},
                self.clock.now(),
            )
            if wait is not None:
                self.not_before = max(self.not_before, self.clock.now() + wait)


def json_body(response: httpx.Response) -> Any:
    """The parsed body, or None when it is not JSON (HTML error pages, truncated bodies)."""
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        return None


def describe(response: httpx.Response) -> str:
    """A short, secret-free description of an error response for messages and the job log."""
    body = json_body(response)
    if isinstance(body, dict):
        for key in ("error_description", "error", "message", "status_message"):
            text = body.get(key)
            if isinstance(text, str) and text:
                return f"HTTP {response.status_code}: {text[:200]}"
    content_type = response.headers.get("content-type", "")
    if "html" in content_type:
        return f"HTTP {response.status_code} (an HTML page, not the API's answer)"
    return f"HTTP {response.status_code}"


def raise_for_status(
    service: str, response: httpx.Response, *, login_hint: str | None = None, now: float
) -> None:
    """Map an unsuccessful response to the typed error the callers act on."""
    status = response.status_code
    if status < 400:
        return
    text = describe(response)
    if status == 429:
        wait = retry_after(response.headers, now)
        raise RateLimited(service, DEFAULT_RETRY_AFTER if wait is None else wait)
    if status == 401:
        raise InvalidToken(service, f"the stored credentials were refused ({text})", login_hint)
    if status == 404:
        raise ItemNotFound(service, text)
    if status >= 500 or status in (408, 425):
        raise ServiceUnavailable(service, text, "it will be retried later")
    if status in (400, 409, 413, 422):
        raise BadRequest(service, text)
    raise ServiceError(service, text)


async def transmit(
    client: httpx.AsyncClient, limiter: ServiceLimiter, request: httpx.Request
) -> httpx.Response:
    """Send under the service's limiter, whatever the status; transport failures become
    ServiceUnavailable. For services whose status codes need reading in context (Last.fm)."""
    write = request.method != "GET"
    await limiter.wait(write=write)
    try:
        response = await client.send(request)
    except httpx.TimeoutException:
        raise ServiceUnavailable(limiter.name, "the request timed out", "try again later") from None
    except httpx.TransportError as exc:
        raise ServiceUnavailable(
            limiter.name, f"network error ({type(exc).__name__})", "try again later"
        ) from None
    if write:
        limiter.wrote()
    limiter.observe(response)
    return response


async def send(
    client: httpx.AsyncClient,
    limiter: ServiceLimiter,
    request: httpx.Request,
    *,
    login_hint: str | None = None,
) -> httpx.Response:
    """Send, and raise the typed error for any unsuccessful status."""
    response = await transmit(client, limiter, request)
    raise_for_status(limiter.service, response, login_hint=login_hint, now=limiter.clock.now())
    return response
