"""A ListenBrainz-compatible fake: the endpoints scrobctl uses, validated by the server's rules
(api-notes part B) and de-duplicated the way the real listen store does (B.5)."""

from __future__ import annotations

import time
import uuid
from typing import Any

from tests.fakes.server import FakeService, Reply, Request

MAX_LISTENS = 1000
LISTEN_MINIMUM_TS = 1033430400


def _error(status: int, message: str) -> Reply:
    return Reply(status, {"code": status, "error": message})


class FakeListenBrainz(FakeService):
    def __init__(self, tokens: dict[str, str] | None = None, latency: float = 0.0) -> None:
        super().__init__(latency)
        self.tokens = tokens if tokens is not None else {"good-token": "rob"}
        # (user, listened_at, msid key) -> listen, as the listen table's unique key
        self.listens: dict[tuple[str, int, tuple[Any, ...]], dict[str, Any]] = {}
        self.submissions: list[int] = []  # listens per accepted submit request
        self.accepted: list[dict[str, Any]] = []  # every accepted listen, duplicates included
        self.rate_limit = 1000  # requests per window, reported in X-RateLimit-* headers
        self.window_requests = 0

    def _user(self, request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "token" or not token:
            return None
        return self.tokens.get(token.strip())

    def _rate_headers(self) -> dict[str, str]:
        self.window_requests += 1
        remaining = max(0, self.rate_limit - self.window_requests)
        return {
            "X-RateLimit-Limit": str(self.rate_limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset-In": "10",
            "X-RateLimit-Reset": str(int(time.time()) + 10),
        }

    def handle(self, request: Request) -> Reply:
        headers = self._rate_headers()
        if request.path == "/1/validate-token":
            if "authorization" not in request.headers:
                return _error(400, "You need to provide an Authorization token.")
            user = self._user(request)
            if user is None:
                body = {"code": 200, "message": "Token invalid.", "valid": False}
            else:
                body = {"code": 200, "message": "Token valid.", "valid": True, "user_name": user}
            return Reply(200, body, headers)
        if request.path == "/1/submit-listens" and request.method == "POST":
            reply = self._submit(request)
            reply.headers.update(headers)
            return reply
        return _error(404, "Not found")

    def _submit(self, request: Request) -> Reply:
        user = self._user(request)
        if user is None:
            return _error(401, "Invalid authorization token.")
        try:
            body = request.json()
        except ValueError:
            return _error(400, "Cannot parse JSON document.")
        listen_type = body.get("listen_type")
        payload = body.get("payload")
        if listen_type not in ("single", "playing_now", "import"):
            return _error(400, "JSON document does not contain a valid listen_type.")
        if not isinstance(payload, list) or not payload:
            return _error(400, "JSON document does not contain any listens.")
        if listen_type == "import" and len(payload) > MAX_LISTENS:
            return _error(400, "Too many listens. You may not submit more than 1000 listens.")
        if listen_type != "import" and len(payload) != 1:
            return _error(400, "JSON document should contain exactly one listen.")
        now = time.time()
        for listen in payload:
            problem = self._invalid(listen, listen_type, now)
            if problem:
                return Reply(400, {**listen, "code": 400, "error": problem})
        if listen_type == "playing_now":
            return Reply(200, {"status": "ok"})
        with self.lock:
            self.submissions.append(len(payload))
            self.accepted.extend(payload)
            for listen in payload:
                meta = listen["track_metadata"]
                info = meta.get("additional_info", {})
                key = (
                    meta["artist_name"].lower(),
                    meta["track_name"].lower(),
                    (meta.get("release_name") or "").lower(),
                    info.get("duration_ms"),
                )
                self.listens.setdefault((user, int(listen["listened_at"]), key), listen)
        return Reply(200, {"status": "ok"})

    @staticmethod
    def _invalid(listen: Any, listen_type: str, now: float) -> str | None:
        if not isinstance(listen, dict):
            return "Listen is not a JSON object."
        allowed = (
            {"track_metadata"}
            if listen_type == "playing_now"
            else {
                "listened_at",
                "track_metadata",
            }
        )
        if set(listen) != allowed:
            return f"Invalid keys in listen: {sorted(set(listen) ^ allowed)}"
        meta = listen["track_metadata"]
        for key in ("artist_name", "track_name"):
            value = meta.get(key)
            if not isinstance(value, str) or not value.strip():
                return f"track_metadata.{key} is required and must be a non-empty string."
        if listen_type != "playing_now":
            ts = listen["listened_at"]
            if not isinstance(ts, int) or ts < LISTEN_MINIMUM_TS:
                return "Value for key listened_at is too low."
            if ts > now + 3600:
                return "Value for key listened_at is too high."
        info = meta.get("additional_info", {})
        if "duration" in info and "duration_ms" in info:
            return "JSON document may not contain both duration and duration_ms."
        mbid = info.get("recording_mbid")
        if mbid:
            try:
                uuid.UUID(mbid)
            except ValueError:
                return "recording_mbid MBID format invalid."
        return None

    def received(self, user: str = "rob") -> list[dict[str, Any]]:
        with self.lock:
            return [listen for (u, _, _), listen in self.listens.items() if u == user]
