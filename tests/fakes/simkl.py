"""A Simkl-compatible fake: the PIN login and the user's settings (api-notes sections 9, 10.4).

- Every request must identify the app: `client_id` (query, or the `simkl-api-key` header),
  `app-name` and `app-version` (query). An unknown client id gets 412 `client_id_failed`; a
  missing `app-name`/`app-version` gets 400 `empty_field`. Error bodies have the documented shape
  `{"error": <id>, "code": <status>, "message": <text>}`.
- `GET /oauth/pin` makes a code: `{"result": "OK", "device_code": "DEVICE_CODE", "user_code",
  "verification_uri", "verification_url", "expires_in", "interval"}`.
- `GET /oauth/pin/{user_code}` is always HTTP 200: `{"result": "KO", "message": "Authorization
  pending"}` for the first `pending_polls` polls, then `{"result": "OK", "access_token": ...}`.
  The code is deleted on success (or expiry), and polling an unknown code falls through to
  making a NEW code, with the step-1 shape (`device_code` and all), as Simkl does.
- `POST /users/settings` with `Authorization: Bearer <token>` →
  `{"user": {"name": ...}, "account": {"id": ...}, ...}`; 401 `user_token_failed` otherwise.

Requirements without a documented server answer (User-Agent, JSON Content-Type on POST) are
collected in `problems` instead.
"""

from __future__ import annotations

import secrets
import string
import time
from dataclasses import dataclass
from typing import Any

from tests.fakes.server import FakeService, Reply, Request

PIN_URL = "https://simkl.com/pin"
CODE_ALPHABET = string.ascii_uppercase + string.digits


def _error(status: int, error: str, message: str) -> Reply:
    return Reply(status, {"error": error, "code": status, "message": message})


@dataclass
class PinCode:
    user_code: str
    expires_at: float  # time.monotonic() deadline
    polls: int = 0


class FakeSimkl(FakeService):
    def __init__(
        self,
        *,
        client_id: str = "simkl-client-id",
        user_name: str = "rob",
        account_id: int = 424242,
        pending_polls: int = 2,
        interval: int = 1,
        expires_in: int = 900,
        latency: float = 0.0,
    ) -> None:
        super().__init__(latency)
        self.client_id = client_id
        self.user_name = user_name
        self.account_id = account_id
        self.pending_polls = pending_polls
        self.interval = interval
        self.expires_in = expires_in

        self.log: list[tuple[float, Request]] = []  # (time.monotonic() on arrival, request)
        self.problems: list[str] = []
        self.codes: dict[str, PinCode] = {}  # live codes only; deleted on success or expiry
        self.issued_codes: list[str] = []  # every user_code ever made, in order
        self.tokens: set[str] = set()

    # -- recording ---------------------------------------------------------------------------
    def _dispatch(self, request: Request) -> Reply:
        at = time.monotonic()
        with self.lock:
            self.log.append((at, request))
        return super()._dispatch(request)

    def requests_to(self, prefix: str) -> list[Request]:
        with self.lock:
            ordered = sorted(self.log, key=lambda e: e[0])
        return [r for _, r in ordered if r.path.startswith(prefix)]

    def _problem(self, text: str) -> None:
        with self.lock:
            self.problems.append(text)

    @property
    def user_code(self) -> str | None:
        with self.lock:
            return self.issued_codes[0] if self.issued_codes else None

    def known_secrets(self) -> set[str]:
        with self.lock:
            return set(self.tokens)

    # -- dispatch ----------------------------------------------------------------------------
    def handle(self, request: Request) -> Reply:
        refused = self._identify(request)
        if refused is not None:
            return refused
        if request.path == "/oauth/pin" and request.method == "GET":
            return Reply(200, self._new_code())
        if request.path.startswith("/oauth/pin/") and request.method == "GET":
            return self._poll(request.path.removeprefix("/oauth/pin/"))
        if request.path == "/users/settings" and request.method == "POST":
            return self._settings(request)
        return _error(404, "not_found", "Not found")

    def _identify(self, request: Request) -> Reply | None:
        query = request.query
        client_id = (query.get("client_id") or [request.headers.get("simkl-api-key", "")])[0]
        if client_id != self.client_id:
            return _error(412, "client_id_failed", "Client ID is not valid")
        for name in ("app-name", "app-version"):
            if not (query.get(name) or [""])[0]:
                return _error(400, "empty_field", f"Required query parameter {name} is empty")
        if not request.headers.get("user-agent"):
            self._problem(f"{request.path}: no User-Agent")
        if request.method == "POST" and not request.headers.get("content-type", "").startswith(
            "application/json"
        ):
            self._problem(f"{request.path}: POST without Content-Type application/json")
        return None

    def _new_code(self) -> dict[str, Any]:
        with self.lock:
            while True:
                user_code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))
                if user_code not in self.codes:
                    break
            self.codes[user_code] = PinCode(user_code, time.monotonic() + self.expires_in)
            self.issued_codes.append(user_code)
        return {
            "result": "OK",
            "device_code": "DEVICE_CODE",
            "user_code": user_code,
            "verification_uri": PIN_URL,
            "verification_url": PIN_URL,
            "expires_in": self.expires_in,
            "interval": self.interval,
        }

    def _poll(self, user_code: str) -> Reply:
        with self.lock:
            code = self.codes.get(user_code)
            if code is not None and time.monotonic() >= code.expires_at:
                del self.codes[user_code]
                code = None
            if code is not None:
                code.polls += 1
                if code.polls <= self.pending_polls:
                    return Reply(200, {"result": "KO", "message": "Authorization pending"})
                del self.codes[user_code]
                token = "simkl-token-" + secrets.token_hex(16)
                self.tokens.add(token)
                return Reply(200, {"result": "OK", "access_token": token})
        # Unknown, used or expired: Simkl falls through to making a new code.
        return Reply(200, self._new_code())

    def _settings(self, request: Request) -> Reply:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        with self.lock:
            ok = scheme == "Bearer" and token in self.tokens
        if not ok:
            return _error(401, "user_token_failed", "Token is not valid")
        return Reply(
            200,
            {
                "user": {
                    "name": self.user_name,
                    "joined_at": "2016-01-01T00:00:00Z",
                    "gender": "",
                    "avatar": "",
                    "bio": "",
                    "loc": "",
                    "age": "",
                },
                "account": {"id": self.account_id, "timezone": "UTC", "type": "free"},
                "connections": {"facebook": False},
            },
        )
