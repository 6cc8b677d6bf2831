"""A Last.fm API 2.0 fake: one root endpoint, signature checks and the desktop auth flow
(api-notes A.1-A.3, A.8).

- The root is `/2.0/`. Parameters come from the query (GET) or the form body (POST,
  `application/x-www-form-urlencoded`, all parameters in the body). Only `format=json` is spoken.
- Checks run in Last.fm's order: method known (else error 3), `api_key` known (else 10), then
  the signature. `api_sig` is verified whenever it is sent, and it is required for `auth.*` and
  for any call that carries `sk`: md5 over the parameters sorted by name, except `format`,
  `callback` and `api_sig`, each as name + value (raw, not URL-encoded), with the shared secret
  appended, UTF-8 encoded. A wrong or missing one is error 13 with HTTP 403.
- `auth.getToken` → `{"token": <32 hex>}`, unauthorised, for that api_key only, valid 60 minutes.
- `auth.getSession` → error 14 (HTTP 403) until `approve()` is called, or automatically once
  `auto_approve_after` polls have been answered with 14; then `{"session": {"name", "key",
  "subscriber": 0}}`, and the token is consumed: asking again is error 4. An expired token is 15.
- `user.getInfo` with a valid `sk` → `{"user": {"name", ...}}` (numbers as strings); an unknown
  `sk` is error 9.

Every request is recorded in `calls` with whether its signature was valid.

Limitation: the base server parses the query string without blank values, so a GET with an
empty parameter would fail the signature check here; scrobctl sends none on these calls.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from tests.fakes.server import FakeService, Reply, Request

ROOT = "/2.0/"
UNSIGNED = frozenset({"format", "callback", "api_sig"})
TOKEN_LIFETIME = 3600.0
ALWAYS_SIGNED = frozenset({"auth.getToken", "auth.getSession", "auth.getMobileSession"})

MESSAGES = {
    3: "Invalid Method - No method with that name in this package",
    4: "Invalid authentication token supplied",
    6: "Invalid parameters - Your request is missing a required parameter",
    9: "Invalid session key - Please re-authenticate",
    10: "Invalid API key - You must be granted a valid key by last.fm",
    13: "Invalid method signature supplied",
    14: "This token has not been authorized",
    15: "This token has expired",
}
HTTP_STATUS = {3: 400, 4: 403, 6: 400, 9: 403, 10: 403, 13: 403, 14: 403, 15: 403}


def signature(params: dict[str, str], secret: str) -> str:
    """api_sig as Last.fm documents it (authspec section 8)."""
    text = "".join(name + params[name] for name in sorted(params) if name not in UNSIGNED)
    return hashlib.md5((text + secret).encode("utf-8")).hexdigest()


@dataclass
class Call:
    """One request as the fake saw it."""

    at: float  # time.monotonic() on arrival
    http_method: str
    params: dict[str, str]
    signed: bool  # api_sig was sent
    signature_valid: bool | None  # None when no api_sig was sent
    error: int | None = None

    @property
    def method(self) -> str | None:
        return self.params.get("method")


@dataclass
class AuthToken:
    api_key: str
    expires_at: float  # time.monotonic() deadline
    polls: int = 0
    approved_for: str | None = None  # the user who allowed access
    consumed: bool = False


@dataclass
class FakeLastfmState:
    tokens: dict[str, AuthToken] = field(default_factory=dict)
    issued_tokens: list[str] = field(default_factory=list)
    sessions: dict[str, str] = field(default_factory=dict)  # session key -> user name


class FakeLastfm(FakeService):
    def __init__(
        self,
        *,
        api_key: str = "lastfm-api-key",
        api_secret: str = "lastfm-api-secret",
        user_name: str = "rob",
        auto_approve_after: int | None = None,
        latency: float = 0.0,
    ) -> None:
        super().__init__(latency)
        self.apps = {api_key: api_secret}
        self.api_key = api_key
        self.api_secret = api_secret
        self.user_name = user_name
        # None: only approve() allows a token. N: after answering N polls with error 14, the
        # token is approved, so poll N + 1 gets the session.
        self.auto_approve_after = auto_approve_after
        self.calls: list[Call] = []
        self.problems: list[str] = []
        self.state = FakeLastfmState()

    # -- scripting and inspection ------------------------------------------------------------
    def approve(self, token: str | None = None, user: str | None = None) -> None:
        """The user allows access for `token` (default: the newest one) on last.fm."""
        with self.lock:
            token = token or self.state.issued_tokens[-1]
            self.state.tokens[token].approved_for = user or self.user_name

    @property
    def token(self) -> str | None:
        with self.lock:
            return self.state.issued_tokens[-1] if self.state.issued_tokens else None

    def revoke_sessions(self) -> None:
        with self.lock:
            self.state.sessions.clear()

    def calls_to(self, method: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.method == method]

    def known_secrets(self) -> set[str]:
        with self.lock:
            return {*self.apps.values(), *self.state.sessions}

    # -- protocol ------------------------------------------------------------------------------
    def _error(self, call: Call, code: int) -> Reply:
        call.error = code
        return Reply(HTTP_STATUS.get(code, 400), {"error": code, "message": MESSAGES[code]})

    def _params(self, request: Request) -> dict[str, str] | None:
        if request.method == "POST":
            content_type = request.headers.get("content-type", "")
            if not content_type.startswith("application/x-www-form-urlencoded"):
                self.problems.append(f"POST with Content-Type {content_type!r}")
            if request.query:
                self.problems.append("POST with parameters in the query string")
            raw = parse_qs(request.body.decode("utf-8"), keep_blank_values=True)
        else:
            raw = request.query
        if any(len(values) != 1 for values in raw.values()):
            self.problems.append(f"repeated parameters: {sorted(raw)}")
            return None
        return {name: values[0] for name, values in raw.items()}

    def handle(self, request: Request) -> Reply:
        if request.path != ROOT:
            return Reply(404, raw=b"<html>Not found</html>", headers={"Content-Type": "text/html"})
        if not request.headers.get("user-agent"):
            with self.lock:
                self.problems.append("no User-Agent")
        with self.lock:
            params = self._params(request)
            call = Call(time.monotonic(), request.method, params or {}, False, None)
            self.calls.append(call)
            if params is None:
                return self._error(call, 6)
            if params.get("format") != "json":
                self.problems.append(f"format={params.get('format')!r}: only json is spoken")
                call.error = 6
                return Reply(
                    400,
                    raw=b'<?xml version="1.0" encoding="UTF-8"?>\n<lfm status="failed">'
                    b'<error code="6">format=json only</error></lfm>',
                    headers={"Content-Type": "text/xml"},
                )
            return self._answer(call, params)

    def _answer(self, call: Call, params: dict[str, str]) -> Reply:
        """Caller holds self.lock."""
        method = params.get("method", "")
        handlers = {
            "auth.getToken": self._get_token,
            "auth.getSession": self._get_session,
            "user.getInfo": self._user_info,
        }
        if method not in handlers:
            return self._error(call, 3)
        secret = self.apps.get(params.get("api_key", ""))
        if secret is None:
            return self._error(call, 10)
        sent = params.get("api_sig")
        if sent is not None:
            call.signed = True
            call.signature_valid = sent.lower() == signature(params, secret)
        needs_signature = method in ALWAYS_SIGNED or "sk" in params
        if (needs_signature or sent is not None) and not call.signature_valid:
            return self._error(call, 13)
        return handlers[method](call, params)

    def _get_token(self, call: Call, params: dict[str, str]) -> Reply:
        token = secrets.token_hex(16)
        self.state.tokens[token] = AuthToken(params["api_key"], time.monotonic() + TOKEN_LIFETIME)
        self.state.issued_tokens.append(token)
        return Reply(200, {"token": token})

    def _get_session(self, call: Call, params: dict[str, str]) -> Reply:
        if "token" not in params:
            return self._error(call, 6)
        token = self.state.tokens.get(params["token"])
        if token is None or token.consumed or token.api_key != params["api_key"]:
            return self._error(call, 4)
        if time.monotonic() >= token.expires_at:
            return self._error(call, 15)
        auto = self.auto_approve_after
        if token.approved_for is None and auto is not None and token.polls >= auto:
            token.approved_for = self.user_name
        if token.approved_for is None:
            token.polls += 1
            return self._error(call, 14)
        token.consumed = True
        key = secrets.token_hex(16)
        self.state.sessions[key] = token.approved_for
        return Reply(200, {"session": {"name": token.approved_for, "key": key, "subscriber": 0}})

    def _user_info(self, call: Call, params: dict[str, str]) -> Reply:
        if "sk" in params:
            name = self.state.sessions.get(params["sk"])
            if name is None:
                return self._error(call, 9)
        elif params.get("user") == self.user_name:
            name = self.user_name
        else:
            return self._error(call, 6)
        return Reply(
            200,
            {
                "user": {
                    "name": name,
                    "realname": "",
                    "url": f"https://www.last.fm/user/{name}",
                    "country": "None",
                    "age": "0",
                    "gender": "n",
                    "subscriber": "0",
                    "playcount": "0",
                    "playlists": "0",
                    "bootstrap": "0",
                    "registered": {"unixtime": "1262304000", "#text": 1262304000},
                    "type": "user",
                    "image": [{"size": "small", "#text": ""}],
                }
            },
        )
