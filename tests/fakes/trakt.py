"""A Trakt-compatible fake serving both hosts scrobctl talks to (api-notes sections 0-2).

OAuth host paths: `POST /oauth/device/code`, `POST /oauth/device/token`, `POST /oauth/token`
(refresh) and `POST /oauth/revoke`. API host path: `GET /users/settings`. Point both
`SCROBCTL_TRAKT__AUTH_URL` and `SCROBCTL_TRAKT__API_URL` at `url`.

Wire formats follow the notes: JSON bodies; the device poll answers from a scripted list of
statuses, where 400 ("pending") has an empty body and 200 carries the token response
`{access_token, token_type, expires_in, refresh_token, scope, created_at}`; refresh tokens are
single-use and rotate, so a spent or unknown one gets 400 `invalid_grant`; a wrong client id or
secret gets 401 `invalid_client`.

The fake does not judge expiry by the clock: like the real service's answer to the client, the
expiry is `created_at + expires_in`, which the client computes itself. An access token stops
working here when it is rotated away by a refresh or revoked. Set `created_at` (unix seconds) to
hand out tokens that the client already considers expired.

Requirements the notes state without a documented server answer (Content-Type, a JSON body on
the OAuth endpoints, the oob redirect URI) are also collected in `problems`, so a test can
assert the client spoke the protocol exactly.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tests.fakes.server import FakeService, Reply, Request

OOB_REDIRECT = "urn:ietf:wg:oauth:2.0:oob"
SEVEN_DAYS = 7 * 86_400
INVALID_GRANT = (
    "The provided authorization grant is invalid, expired, revoked, does not match the "
    "redirection URI used in the authorization request, or was issued to another client."
)


def _oauth_error(status: int, error: str, description: str) -> Reply:
    return Reply(status, {"error": error, "error_description": description})


@dataclass
class DeviceCode:
    device_code: str
    user_code: str
    expires_at: float  # time.monotonic() deadline
    polls: int = 0
    used: bool = False


@dataclass
class Refresh:
    """One refresh request: when it arrived, when it was answered, and with what status."""

    received_at: float
    answered_at: float
    status: int
    refresh_token: str


class FakeTrakt(FakeService):
    def __init__(
        self,
        *,
        client_id: str = "trakt-client-id",
        client_secret: str = "trakt-client-secret",
        username: str = "rob",
        poll_statuses: Sequence[int] = (400, 200),
        interval: int = 1,
        code_expires_in: int = 600,
        expires_in: int = SEVEN_DAYS,
        created_at: int | None = None,
        refresh_delay: float = 0.0,
        verification_url: str = "https://trakt.tv/activate",
        latency: float = 0.0,
    ) -> None:
        super().__init__(latency)
        self.client_id = client_id
        self.client_secret = client_secret
        self.username = username
        # Answers to successive /oauth/device/token polls for a device code; once the list is
        # spent the code stays pending (400), and after a 200 it is "already used" (409).
        self.poll_statuses = list(poll_statuses)
        self.interval = interval
        self.code_expires_in = code_expires_in
        # Token responses carry these; created_at None means "now".
        self.expires_in = expires_in
        self.created_at = created_at
        self.refresh_delay = refresh_delay  # seconds a refresh takes, so processes can overlap
        self.verification_url = verification_url

        self.log: list[tuple[float, Request]] = []  # (time.monotonic() on arrival, request)
        self.problems: list[str] = []
        self.codes: dict[str, DeviceCode] = {}
        self.access_tokens: set[str] = set()  # currently valid
        self.refresh_tokens: dict[str, str] = {}  # currently valid refresh -> its access token
        self.spent_refresh_tokens: set[str] = set()
        self.issued: list[dict[str, Any]] = []  # every token response handed out
        self.refreshes: list[Refresh] = []  # every refresh request, successful or not
        self.revoked: list[str] = []
        self._poll_index = 0

    # -- recording ---------------------------------------------------------------------------
    def _dispatch(self, request: Request) -> Reply:
        at = time.monotonic()
        with self.lock:
            self.log.append((at, request))
        return super()._dispatch(request)

    def times(self, path: str) -> list[float]:
        """Arrival times (time.monotonic()) of the requests to `path`, in order."""
        with self.lock:
            return sorted(at for at, r in self.log if r.path == path)

    def requests_to(self, path: str) -> list[Request]:
        with self.lock:
            return [r for _, r in sorted(self.log, key=lambda e: e[0]) if r.path == path]

    def _problem(self, text: str) -> None:
        with self.lock:
            self.problems.append(text)

    # -- scripting ---------------------------------------------------------------------------
    @property
    def successful_refreshes(self) -> int:
        with self.lock:
            return sum(1 for r in self.refreshes if r.status == 200)

    @property
    def current_access_token(self) -> str | None:
        with self.lock:
            return self.issued[-1]["access_token"] if self.issued else None

    def invalidate_refresh_tokens(self) -> None:
        """Make every refresh token unusable (Trakt's answer to pre-migration tokens)."""
        with self.lock:
            self.spent_refresh_tokens.update(self.refresh_tokens)
            self.refresh_tokens.clear()

    def known_secrets(self) -> set[str]:
        """Every secret this fake handed out or knows: tokens and the client secret."""
        with self.lock:
            found = {self.client_secret}
            for token in self.issued:
                found.add(token["access_token"])
                found.add(token["refresh_token"])
            return found

    # -- dispatch ----------------------------------------------------------------------------
    def handle(self, request: Request) -> Reply:
        routes = {
            "/oauth/device/code": self._device_code,
            "/oauth/device/token": self._device_token,
            "/oauth/token": self._token,
            "/oauth/revoke": self._revoke,
        }
        if request.path in routes:
            if request.method != "POST":
                return Reply(405, {"error": "method_not_allowed"})
            body = self._json_body(request)
            if body is None:
                return _oauth_error(400, "invalid_request", "The request body is not JSON.")
            return routes[request.path](body)
        if request.path == "/users/settings":
            if request.method != "GET":
                return Reply(405, {"error": "method_not_allowed"})
            return self._settings(request)
        return Reply(404, raw=b"", headers={"Content-Type": "text/plain"})

    def _json_body(self, request: Request) -> dict[str, Any] | None:
        content_type = request.headers.get("content-type", "")
        if not content_type.startswith("application/json"):
            self._problem(f"{request.path}: Content-Type {content_type!r}, not application/json")
        try:
            body = json.loads(request.body)
        except ValueError:
            self._problem(f"{request.path}: the body is not JSON")
            return None
        if not isinstance(body, dict):
            self._problem(f"{request.path}: the body is not a JSON object")
            return None
        return body

    def _client_ok(self, body: dict[str, Any], *, secret: bool) -> bool:
        if body.get("client_id") != self.client_id:
            return False
        return not secret or body.get("client_secret") == self.client_secret

    def _invalid_client(self) -> Reply:
        return _oauth_error(
            401,
            "invalid_client",
            "Client authentication failed due to unknown client, no client authentication "
            "included, or unsupported authentication method.",
        )

    def _token_response(self) -> dict[str, Any]:
        """A new token pair, registered as current (caller holds self.lock)."""
        created = self.created_at if self.created_at is not None else int(time.time())
        token = {
            "access_token": "trakt-access-" + secrets.token_hex(16),
            "token_type": "bearer",
            "expires_in": self.expires_in,
            "refresh_token": "trakt-refresh-" + secrets.token_hex(16),
            "scope": "public",
            "created_at": created,
        }
        self.access_tokens.add(token["access_token"])
        self.refresh_tokens[token["refresh_token"]] = token["access_token"]
        self.issued.append(token)
        return token

    # -- OAuth host --------------------------------------------------------------------------
    def _device_code(self, body: dict[str, Any]) -> Reply:
        if not self._client_ok(body, secret=False):
            return self._invalid_client()
        code = DeviceCode(
            device_code=secrets.token_hex(32),
            user_code=secrets.token_hex(4).upper(),
            expires_at=time.monotonic() + self.code_expires_in,
        )
        with self.lock:
            self.codes[code.device_code] = code
        return Reply(
            200,
            {
                "device_code": code.device_code,
                "user_code": code.user_code,
                "verification_url": self.verification_url,
                "expires_in": self.code_expires_in,
                "interval": self.interval,
            },
        )

    @property
    def user_code(self) -> str | None:
        with self.lock:
            codes = list(self.codes.values())
        return codes[-1].user_code if codes else None

    def _device_token(self, body: dict[str, Any]) -> Reply:
        if "device_code" in body and "code" not in body:
            self._problem("/oauth/device/token: sent RFC 8628's device_code instead of code")
        if not self._client_ok(body, secret=True):
            return self._invalid_client()
        with self.lock:
            code = self.codes.get(str(body.get("code")))
            if code is None:
                return Reply(404, raw=b"")
            if code.used:
                return Reply(409, raw=b"")
            if time.monotonic() >= code.expires_at:
                return Reply(410, raw=b"")
            status = (
                self.poll_statuses[self._poll_index]
                if self._poll_index < len(self.poll_statuses)
                else 400
            )
            self._poll_index += 1
            code.polls += 1
            if status == 200:
                code.used = True
                return Reply(200, self._token_response())
        if status == 429:
            return Reply(429, raw=b"", headers={"Retry-After": str(self.interval)})
        return Reply(status, raw=b"")  # 400 pending (no body), 404, 409, 410, 418

    def _token(self, body: dict[str, Any]) -> Reply:
        received = time.monotonic()
        if self.refresh_delay:
            time.sleep(self.refresh_delay)
        reply = self._refresh(body)
        with self.lock:
            self.refreshes.append(
                Refresh(received, time.monotonic(), reply.status, str(body.get("refresh_token")))
            )
        return reply

    def _refresh(self, body: dict[str, Any]) -> Reply:
        if not self._client_ok(body, secret=True):
            return self._invalid_client()
        grant = body.get("grant_type")
        if grant != "refresh_token":
            return _oauth_error(
                400, "unsupported_grant_type", f"The grant type {grant!r} is not supported here."
            )
        if body.get("redirect_uri") != OOB_REDIRECT:
            self._problem(f"/oauth/token: redirect_uri {body.get('redirect_uri')!r}")
            return _oauth_error(400, "invalid_grant", INVALID_GRANT)
        with self.lock:
            old = str(body.get("refresh_token"))
            access = self.refresh_tokens.pop(old, None)
            if access is None:
                return _oauth_error(400, "invalid_grant", INVALID_GRANT)
            # Rotation: the old pair is dead the moment the new one exists.
            self.spent_refresh_tokens.add(old)
            self.access_tokens.discard(access)
            return Reply(200, self._token_response())

    def _revoke(self, body: dict[str, Any]) -> Reply:
        if not self._client_ok(body, secret=True):
            return self._invalid_client()
        token = str(body.get("token"))
        with self.lock:
            self.revoked.append(token)
            self.access_tokens.discard(token)
            for refresh, access in list(self.refresh_tokens.items()):
                if access == token:
                    del self.refresh_tokens[refresh]
        return Reply(200, {})

    # -- API host ----------------------------------------------------------------------------
    def _settings(self, request: Request) -> Reply:
        headers = request.headers
        scheme, _, token = headers.get("authorization", "").partition(" ")
        missing = []
        if headers.get("trakt-api-version") != "2":
            missing.append("trakt-api-version: 2")
        if headers.get("trakt-api-key") != self.client_id:
            missing.append("trakt-api-key")
        if not headers.get("user-agent"):
            missing.append("User-Agent")
        with self.lock:
            token_ok = scheme == "Bearer" and token in self.access_tokens
        if not token_ok:
            missing.append("Authorization: Bearer <current access token>")
        if missing:
            return _oauth_error(
                401, "invalid_token", "OAuth must be provided: " + ", ".join(missing)
            )
        return Reply(
            200,
            {
                "user": {
                    "username": self.username,
                    "private": False,
                    "name": self.username.title(),
                    "vip": True,
                    "vip_ep": False,
                    "ids": {"slug": self.username},
                    "joined_at": "2014-09-01T09:10:11.000Z",
                    "location": "",
                    "about": "",
                    "gender": "",
                    "age": None,
                    "images": {"avatar": {"full": ""}},
                },
                "account": {
                    "timezone": "UTC",
                    "date_format": "mdy",
                    "time_24hr": True,
                    "cover_image": None,
                },
                "connections": {"facebook": False, "twitter": False, "slack": False},
                "sharing_text": {"watching": "", "watched": "", "rated": ""},
            },
        )
