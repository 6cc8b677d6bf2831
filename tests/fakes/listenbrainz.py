"""A ListenBrainz-compatible fake: the endpoints scrobctl uses, validated by the server's rules
(api-notes part B) and de-duplicated the way the real listen store does (B.5).

Removal (listenbrainz-server 0a119846d): each stored listen gets a `recording_msid`, one per
distinct (artist, track, release, duration) as messybrainz hands out (random, so a client cannot
work it out; submit-listens never returns it, webserver/views/api.py l.157-160). Submitted
listens are served by `GET /1/user/{name}/listens` (bounds exclusive, newest first, with
`recording_msid` at the top and in `additional_info`) when the synthetic history is empty.
`POST /1/delete-listen` (api.py l.537-598) needs the token, `listened_at` (an integer) and a
valid UUID `recording_msid` (else 400), and answers `{"status": "ok"}` whether or not such a
listen exists: it only schedules the deletion (listenstore/timescale_listenstore.py
`delete_listen` l.735-762). The listen stays visible until `run_deletions()`, the hourly job.
"""

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
        # A synthetic history served by GET /1/user/{name}/listens, made on the fly so that a
        # large one costs no memory: listen i is at history_start + i * 60 seconds.
        self.msids: dict[tuple[Any, ...], str] = {}  # msid key -> recording_msid
        self.pending_deletions: list[tuple[str, int, str]] = []  # (user, listened_at, msid)
        self.history_user = "rob"
        self.history_size = 0
        self.history_start = 1_600_000_000

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
        if request.path == f"/1/user/{self.history_user}/listen-count":
            return Reply(200, {"payload": {"count": self.history_size}}, headers)
        if request.path == f"/1/user/{self.history_user}/listens" and self._serve_received():
            return Reply(200, self._received_listens(request), headers)
        if request.path == f"/1/user/{self.history_user}/listens":
            return Reply(200, self._listens(request), headers)
        if request.path == "/1/delete-listen" and request.method == "POST":
            reply = self._delete(request)
            reply.headers.update(headers)
            return reply
        if request.path == f"/1/feedback/user/{self.history_user}/get-feedback":
            return Reply(200, {"feedback": [], "count": 0, "total_count": 0, "offset": 0}, headers)
        if request.path == "/1/submit-listens" and request.method == "POST":
            reply = self._submit(request)
            reply.headers.update(headers)
            return reply
        return _error(404, "Not found")

    def history_listen(self, i: int) -> dict[str, Any]:
        return {
            "listened_at": self.history_start + i * 60,
            "recording_msid": str(uuid.UUID(int=i)),
            "user_name": self.history_user,
            "track_metadata": {
                "artist_name": f"Artist {i % 500}",
                "track_name": f"Track {i % 20000}",
                "release_name": f"Album {i % 2000}",
                "additional_info": {"duration_ms": 180_000 + i % 60_000},
            },
        }

    def _listens(self, request: Request) -> dict[str, Any]:
        """Newest first, below max_ts (exclusive) and above min_ts (exclusive), count <= 1000."""
        count = min(int(request.query.get("count", ["25"])[0]), 1000)
        max_ts = int(request.query.get("max_ts", [str(2**62)])[0])
        min_ts = int(request.query.get("min_ts", ["0"])[0])
        start, step, n = self.history_start, 60, self.history_size
        # indices with start + i*step < max_ts, newest first
        top = min(n - 1, (max_ts - start - 1) // step) if max_ts > start else -1
        listens = []
        i = top
        while i >= 0 and len(listens) < count:
            listen = self.history_listen(i)
            if listen["listened_at"] <= min_ts:
                break
            listens.append(listen)
            i -= 1
        return {
            "payload": {
                "count": len(listens),
                "user_id": self.history_user,
                "latest_listen_ts": start + (n - 1) * step if n else 0,
                "oldest_listen_ts": start if n else 0,
                "listens": listens,
            }
        }

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
                self.msids.setdefault(key, str(uuid.uuid4()))
                self.listens.setdefault((user, int(listen["listened_at"]), key), listen)
        return Reply(200, {"status": "ok"})

    def _serve_received(self) -> bool:
        with self.lock:
            return self.history_size == 0 and bool(self.listens or self.pending_deletions)

    def _received_listens(self, request: Request) -> dict[str, Any]:
        """Listens received by submit-listens, newest first, max_ts/min_ts exclusive."""
        count = min(int(request.query.get("count", ["25"])[0]), 1000)
        max_ts = int(request.query.get("max_ts", [str(2**62)])[0])
        min_ts = int(request.query.get("min_ts", ["0"])[0])
        with self.lock:
            stored = sorted(
                (
                    (at, self.msids[key], x)
                    for (u, at, key), x in self.listens.items()
                    if u == self.history_user and min_ts < at < max_ts
                ),
                key=lambda entry: entry[0],
                reverse=True,
            )
        listens = []
        for at, msid, listen in stored[:count]:
            meta = listen["track_metadata"]
            info = {**meta.get("additional_info", {}), "recording_msid": msid}
            listens.append(
                {
                    "listened_at": at,
                    "recording_msid": msid,
                    "user_name": self.history_user,
                    "track_metadata": {**meta, "additional_info": info},
                }
            )
        return {
            "payload": {"count": len(listens), "user_id": self.history_user, "listens": listens}
        }

    def _delete(self, request: Request) -> Reply:
        user = self._user(request)
        if user is None:
            return _error(401, "Invalid authorization token.")
        try:
            body = request.json()
        except ValueError:
            return _error(400, "Cannot parse JSON document.")
        if not isinstance(body, dict) or "listened_at" not in body:
            return _error(400, "Listen timestamp missing.")
        try:
            listened_at = int(body["listened_at"])  # as the server reads it
        except (TypeError, ValueError):
            return _error(400, f"{body['listened_at']}: Listen timestamp invalid.")
        msid = body.get("recording_msid")
        if msid is None:
            return _error(400, "Recording MSID missing.")
        try:
            uuid.UUID(str(msid))
        except ValueError:
            return _error(400, f"{msid}: Recording MSID format invalid.")
        with self.lock:
            self.pending_deletions.append((user, listened_at, str(msid)))
        return Reply(200, {"status": "ok"})

    def run_deletions(self) -> int:
        """The hourly job: delete the listens scheduled for deletion; how many went."""
        with self.lock:
            scheduled = set(self.pending_deletions)
            gone = [k for k in self.listens if (k[0], k[1], self.msids[k[2]]) in scheduled]
            for key in gone:
                del self.listens[key]
            self.pending_deletions.clear()
        return len(gone)

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
