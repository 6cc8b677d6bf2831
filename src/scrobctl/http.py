"""HTTP policy in one place: client construction, per-service rate limits, retry timing and the
mapping of responses to typed errors.

Client construction stays here alone so that moving to `httpx2` (API-identical) is one import
change once respx supports it.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import math
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
    MAX_PAUSE,
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


@dataclass(frozen=True)
class Limits:
    """The request rates the limiters pace to, passed down from the Runtime: a test runs
    unpaced by building its runtime with other rates, not by patching a module global (the
    leaky bucket paces on the event loop's real clock, not the injected one)."""

    rates: Mapping[str, tuple[float, float]] = field(default_factory=lambda: dict(RATE_LIMITS))


# Job-level back-off after a transient failure: 30 s, 1 min, 2 min ... capped at 6 h, with jitter.
BACKOFF_BASE = 30.0
BACKOFF_CAP = 6 * 3600.0
# A Retry-After we cannot parse, or a 429 without one, waits this long.
DEFAULT_RETRY_AFTER = 60.0
# No server pause is taken longer than a day: `Retry-After: 999...9` (400 digits), `inf` or ten
# years would otherwise overflow the clock or park a service until 2036 (issue #16).
MAX_RETRY_AFTER = MAX_PAUSE
# A rate-limit window that opens later than this is not waited for in the process: the run ends
# with the jobs scheduled for then, and the lock is free meanwhile.
MAX_IN_PROCESS_WAIT = 60.0
# The whole exchange (connect, headers, body) of one request; the per-read timeout alone let a
# server that sends a byte every 20 s hold `flush` and its lock for as long as it liked.
REQUEST_DEADLINE = 60.0
# Answers are read up to this size, then dropped: a 500 MB body took 1.1 GB of memory. Endpoints
# with big pages pass their own limit (`max_bytes`).
MAX_ANSWER_BYTES = 4 * 1024 * 1024
# More than this between the server's Date header and our clock is worth saying (once): plays
# are timed by our clock and services refuse plays "in the future".
CLOCK_SKEW_WARNING = 60.0


# Query parameters whose values are credentials; never shown in logs.
SECRET_PARAMS = frozenset({"api_key", "api_sig", "sk", "token", "client_secret", "code"})


def redacted_url(url: httpx.URL) -> str:
    """The URL with credential values replaced, for logs and messages."""
    params = [(k, "REDACTED" if k in SECRET_PARAMS else v) for k, v in url.params.multi_items()]
    return str(url.copy_with(params=params) if params else url)


class Client(httpx.AsyncClient):
    """httpx's client with scrobctl's bounds: a total deadline for each request, and where to
    say (once) that a server's clock disagrees with ours."""

    def __init__(
        self,
        *,
        deadline: float = REQUEST_DEADLINE,
        warn: Callable[[str], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.deadline = deadline
        self.warn = warn
        self.skew_reported = False


def make_client(
    *,
    timeout: httpx.Timeout = TIMEOUT,
    log: Callable[[str], None] | None = None,
    deadline: float = REQUEST_DEADLINE,
    warn: Callable[[str], None] | None = None,
) -> httpx.AsyncClient:
    """The one way scrobctl builds an HTTP client. With `log`, each exchange is one line:
    method, URL with credentials redacted, status and time; headers and bodies never.

    Redirects are never followed: a 3xx from an API is a proxy, a captive portal or a moved
    host, never the service's answer, and following it would send the credentials elsewhere."""
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
    return Client(
        headers={"User-Agent": USER_AGENT},
        timeout=timeout,
        event_hooks=hooks,
        follow_redirects=False,
        deadline=deadline,
        warn=warn,
    )


def backoff_delay(attempt: int, rng: random.Random | None = None) -> float:
    """Exponential back-off with jitter between half and all of the step, so retries spread out."""
    step = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** min(max(attempt - 1, 0), 32))
    return step * (rng or random).uniform(0.5, 1.0)


def _seconds(text: str) -> float | None:
    """A finite, non-negative number of seconds from a header, capped at MAX_RETRY_AFTER.
    ASCII digits only: `str.isdigit` accepts `²`, which `float()` then refuses."""
    text = text.strip()
    if not text or not text.isascii():
        return None
    try:
        value = float(text) if len(text) <= 32 else math.inf
    except ValueError:
        return None
    if math.isnan(value):
        return None
    return min(max(0.0, value), MAX_RETRY_AFTER)


def retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds to wait, from `Retry-After` (seconds or HTTP date) or ListenBrainz's
    `X-RateLimit-Reset-In`, which is clock-skew safe. Never more than MAX_RETRY_AFTER."""
    value = headers.get("retry-after")
    if value:
        value = value.strip()
        if value.isascii() and value.isdigit():
            return _seconds(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, OverflowError):
            when = None
        if when is not None and when.tzinfo is not None:
            return min(MAX_RETRY_AFTER, max(0.0, when.timestamp() - now))
    reset_in = headers.get("x-ratelimit-reset-in")
    if reset_in:
        wait = _seconds(reset_in)
        if wait is not None:
            return min(MAX_RETRY_AFTER, wait + 1)  # +1: the window ends within that second
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
    limits: Limits = field(default_factory=Limits)

    def __post_init__(self) -> None:
        bucket = self.kind or self.service
        rates = self.limits.rates
        if self.limiter is None:
            rate, period = self.rate or rates.get(bucket, (1, 1))
            self.limiter = AsyncLimiter(rate, period)
        if self.write_limiter is None and f"{bucket}:write" in rates and self.rate is None:
            rate, period = rates[f"{bucket}:write"]
            self.write_limiter = AsyncLimiter(rate, period)
            self.write_interval = period / rate

    async def wait(self, *, write: bool = False) -> None:
        pause = self.not_before - self.clock.now()
        if pause > MAX_IN_PROCESS_WAIT:
            # Far ahead: end this service's run with its jobs scheduled, rather than sleep here.
            raise RateLimited(self.name, pause)
        await self.clock.sleep(pause)
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


def account_name(service: str, where: str, body: Any, key: str) -> str:
    """`body["user"][key]`, the account's name in Trakt's, Simkl's and Last.fm's answers; an
    answer without it is not the one the endpoint documents."""
    try:
        return str(body["user"][key])
    except (TypeError, KeyError):
        raise ServiceUnavailable(service, f"{where} gave an unexpected answer") from None


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


def _tried(request: httpx.Request) -> str:
    """What was tried, for a network error: method, host and path; never the query string,
    which carries Last.fm's api_key and session key."""
    url = request.url
    port = f":{url.port}" if url.port else ""
    return f"{request.method} {url.scheme}://{url.host}{port}{url.path}"


async def _read(response: httpx.Response, max_bytes: int, service: str) -> None:
    """Read the body, but no more than `max_bytes` of it (after decompression)."""
    parts: list[bytes] = []
    size = 0
    async for part in response.aiter_bytes():
        size += len(part)
        if size > max_bytes:
            raise ServiceUnavailable(
                service,
                f"the answer is larger than {max_bytes // (1024 * 1024)} MiB; it was not read",
                "it will be retried later",
            )
        parts.append(part)
    # What `Response.aread()` does, with the limit: the body is kept as the response's content.
    response._content = b"".join(parts)


def _check_clock(client: httpx.AsyncClient, response: httpx.Response, now: float) -> None:
    """Say once when the server's Date differs from our clock by more than a minute."""
    warn = getattr(client, "warn", None)
    if warn is None or getattr(client, "skew_reported", True):
        return
    try:
        when = email.utils.parsedate_to_datetime(response.headers.get("date", ""))
    except (TypeError, ValueError, OverflowError):
        return
    if when.tzinfo is None:
        return
    skew = when.timestamp() - now
    if abs(skew) > CLOCK_SKEW_WARNING:
        client.skew_reported = True  # type: ignore[attr-defined]
        side = "ahead of" if skew > 0 else "behind"
        warn(
            f"{response.request.url.host}'s clock is {abs(skew):.0f} s {side} this machine's; "
            "plays are timed by this machine's clock, so check it (e.g. `timedatectl`)"
        )


async def transmit(
    client: httpx.AsyncClient,
    limiter: ServiceLimiter,
    request: httpx.Request,
    *,
    max_bytes: int = MAX_ANSWER_BYTES,
) -> httpx.Response:
    """Send under the service's limiter, whatever the status; transport failures become
    ServiceUnavailable. For services whose status codes need reading in context (Last.fm).

    The whole exchange has a deadline, the body a size limit, and a redirect is an error: it
    is never followed and never taken for the service's answer."""
    write = request.method != "GET"
    await limiter.wait(write=write)
    deadline = getattr(client, "deadline", REQUEST_DEADLINE)
    try:
        async with asyncio.timeout(deadline):
            response = await client.send(request, stream=True)
            try:
                await _read(response, max_bytes, limiter.name)
            finally:
                await response.aclose()
    except TimeoutError:
        raise ServiceUnavailable(
            limiter.name, f"no complete answer within {deadline:.0f} s", "try again later"
        ) from None
    except httpx.TimeoutException:
        raise ServiceUnavailable(
            limiter.name, f"{_tried(request)} timed out", "try again later"
        ) from None
    except httpx.TransportError as exc:
        raise ServiceUnavailable(
            limiter.name,
            f"network error ({type(exc).__name__}) on {_tried(request)}",
            "check the connection and the service's URL setting, or try again later",
        ) from None
    if write:
        limiter.wrote()
    limiter.observe(response)
    _check_clock(client, response, limiter.clock.now())
    if 300 <= response.status_code < 400:
        where = response.headers.get("location", "")
        target = httpx.URL(where).host if where else ""
        elsewhere = f" to {target}" if target and target != request.url.host else ""
        raise ServiceUnavailable(
            limiter.name,
            f"answered HTTP {response.status_code} (a redirect{elsewhere}), not the API's "
            "answer; it was not followed",
            "check the service's API_URL setting; it will be retried later",
        )
    return response


async def send(
    client: httpx.AsyncClient,
    limiter: ServiceLimiter,
    request: httpx.Request,
    *,
    login_hint: str | None = None,
    max_bytes: int = MAX_ANSWER_BYTES,
) -> httpx.Response:
    """Send, and raise the typed error for any unsuccessful status."""
    response = await transmit(client, limiter, request, max_bytes=max_bytes)
    raise_for_status(limiter.service, response, login_hint=login_hint, now=limiter.clock.now())
    return response
