"""A ListenBrainz-compatible fake: the endpoints scrobctl uses, validated by the server's rules
(api-notes part B) and de-duplicated the way the real listen store does (B.5).

Which listens a `GET /1/user/{name}/listens` page holds follows the server's own code, read at
metabrainz/listenbrainz-server 0a119846d (2026-08-21), in `fetch_listens` below.

Removal (same commit): each stored listen gets a `recording_msid`, one per distinct (artist,
track, release, duration), as messybrainz hands them out (random, so a client cannot work it
out; submit-listens never returns it, webserver/views/api.py l.157-160). When the synthetic
history is empty, `GET /1/user/{name}/listens` serves the submitted listens, paged by the same
`fetch_listens`, with `recording_msid` at the top and in `additional_info`.
`POST /1/delete-listen` (api.py l.537-598) needs the token, `listened_at` (read as an integer)
and a valid UUID `recording_msid` (else 400), and answers `{"status": "ok"}` whether or not such
a listen exists: it only schedules the deletion (listenstore/timescale_listenstore.py
`delete_listen` l.735-762). The listen stays listed until `run_deletions()`, the hourly job.
"""

from __future__ import annotations

import json
import time
import uuid
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from typing import Any

from tests.fakes.server import FakeService, Reply, Request

MAX_LISTENS = 1000  # api_tools.py MAX_LISTENS_PER_REQUEST l.39
MAX_LISTEN_SIZE = 10240  # api_tools.py l.33
MAX_LISTEN_PAYLOAD_SIZE = MAX_LISTEN_SIZE * MAX_LISTENS  # l.42
LISTEN_MINIMUM_TS = 1033430400
MAX_ITEMS_PER_GET = 1000  # webserver/views/api_tools.py l.48
DEFAULT_ITEMS_PER_GET = 25  # api_tools.py l.51
# listenstore/timescale_listenstore.py l.36-43
DEFAULT_FETCH_WINDOW = 30 * 86_400
WINDOW_SIZE_MULTIPLIER = 3
MAX_FUTURE_SECONDS = 600


def fetch_listens(
    times: Sequence[int], from_ts: int | None, to_ts: int | None, limit: int, now: float
) -> list[int]:
    """The indices into `times` (ascending listened_at) of the page the server returns, newest
    first: listenstore/timescale_listenstore.py `fetch_listens`, l.209-387.

    With `from_ts` (min_ts) the rows are selected in ASCENDING order with LIMIT, alone or with
    `to_ts` (l.224-227, l.295): the page is the OLDEST `limit` listens after min_ts, reversed only
    for output (l.382-383). Only `to_ts` alone selects the newest below it. One bound alone
    searches a window of 30 days that moves on and triples after every pass that comes up short,
    for at most 9 queries (l.297-352); listens accumulate across passes up to `limit` (l.373).
    Both bounds are exclusive (l.256-257), so a listen exactly on a window's edge is not found:
    the server's own behaviour, kept.
    """
    n = len(times)
    if n == 0:
        return []  # l.231-232: a user without listens
    ascending = from_ts is not None
    min_user_ts, max_user_ts = times[0], times[n - 1]
    if to_ts is None and from_ts is None:
        to_ts = max_user_ts + 1  # l.234-235
    window = DEFAULT_FETCH_WINDOW
    to_dynamic = from_dynamic = False
    if from_ts is not None and to_ts is not None:
        pass
    elif from_ts is not None:
        to_ts, to_dynamic = from_ts + window, True
    else:
        assert to_ts is not None
        from_ts, from_dynamic = to_ts - window, True
    assert from_ts is not None and to_ts is not None
    chosen: list[int] = []
    passes = 0
    while True:
        passes += 1
        if passes == 10:  # l.318-321
            break
        lo, hi = bisect_right(times, from_ts), bisect_left(times, to_ts)
        rows = range(lo, hi) if ascending else range(hi - 1, lo - 1, -1)
        for i in rows[:limit]:
            chosen.append(i)
            if len(chosen) == limit:
                break
        if len(chosen) == limit:
            break
        # l.329-352: this pass came up short
        if not to_dynamic and not from_dynamic:
            break
        if from_ts < min_user_ts - 1:
            break
        if to_ts > now + MAX_FUTURE_SECONDS:
            break
        if to_dynamic:
            from_ts += window - 1
            window *= WINDOW_SIZE_MULTIPLIER
            to_ts += window
        if from_dynamic:
            to_ts -= window
            window *= WINDOW_SIZE_MULTIPLIER
            from_ts -= window
    if ascending:
        chosen.reverse()
    return chosen


class _EvenTimes(Sequence[int]):
    """`start + i * step` for i < size, without building the list (bisect needs only this)."""

    def __init__(self, start: int, step: int, size: int) -> None:
        self.start, self.step, self.size = start, step, size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            raise TypeError("not sliceable")
        if i < 0:
            i += self.size
        if not 0 <= i < self.size:
            raise IndexError(i)
        return self.start + i * self.step


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
        self.feedback_given: list[tuple[str, dict[str, Any]]] = []  # (user, accepted body)
        # The history user's recording feedback (loves +1, hates -1), as get-feedback answers it.
        self.feedback: list[dict[str, Any]] = []
        self.msids: dict[tuple[Any, ...], str] = {}  # msid key -> recording_msid
        self.pending_deletions: list[tuple[str, int, str]] = []  # (user, listened_at, msid)
        self.rate_limit = 1000  # requests per window, reported in X-RateLimit-* headers
        self.window_requests = 0
        # A synthetic history served by GET /1/user/{name}/listens, made on the fly so that a
        # large one costs no memory: listen i is at history_start + i * 60 seconds.
        self.history_user = "rob"
        self.history_size = 0
        self.history_start = 1_600_000_000
        # Listens pages answered before the server goes into maintenance (503, as its nginx
        # answers then); None: never.
        self.unavailable_after: int | None = None
        self.listens_pages = 0

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
        if request.path == f"/1/user/{self.history_user}/listens":
            self.listens_pages += 1
            if self.unavailable_after is not None and self.listens_pages > self.unavailable_after:
                return _error(503, "Service Unavailable")
            reply = self._received(request) if self._serve_received() else self._listens(request)
            reply.headers.update(headers)
            return reply
        if request.path == "/1/delete-listen" and request.method == "POST":
            reply = self._delete(request)
            reply.headers.update(headers)
            return reply
        if request.path == f"/1/feedback/user/{self.history_user}/get-feedback":
            reply = self._feedback_page(request)
            reply.headers.update(headers)
            return reply
        if request.path == "/1/feedback/recording-feedback" and request.method == "POST":
            reply = self._recording_feedback(request)
            reply.headers.update(headers)
            return reply
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

    def _listens(self, request: Request) -> Reply:
        """webserver/views/api.py `get_listens` (l.170-197) with the parameter checks of
        api_tools.py `_validate_get_listens_endpoint_params` (l.502-518)."""
        try:
            max_ts = _ts_arg(request, "max_ts")
            min_ts = _ts_arg(request, "min_ts")
            count = int(request.query.get("count", [str(DEFAULT_ITEMS_PER_GET)])[0])
        except ValueError:
            return _error(400, "Incorrect timestamp argument")
        if max_ts is not None and min_ts is not None and max_ts <= min_ts:
            return _error(400, "max_ts should be greater than min_ts")
        count = min(count, MAX_ITEMS_PER_GET)
        if count < 0:
            return _error(400, "Number of items requested should be positive")
        n = self.history_size
        times = _EvenTimes(self.history_start, 60, n)
        chosen = fetch_listens(times, min_ts, max_ts, count, time.time())
        listens = [self.history_listen(i) for i in chosen]
        return Reply(
            200,
            {
                "payload": {
                    "count": len(listens),
                    "user_id": self.history_user,
                    "latest_listen_ts": times[n - 1] if n else 0,
                    "oldest_listen_ts": times[0] if n else 0,
                    "listens": listens,
                }
            },
        )

    def _submit(self, request: Request) -> Reply:
        """webserver/views/api.py `submit_listen` (l.79-166): the size checks on the raw body
        as it arrived (l.88-91, l.116-118), then api_tools.py `validate_listen` per listen."""
        user = self._user(request)
        if user is None:
            return _error(401, "Invalid authorization token.")
        raw = request.body
        if len(raw) > MAX_LISTEN_PAYLOAD_SIZE:
            return _error(
                400, f"Payload too large. Payload cannot exceed {MAX_LISTEN_PAYLOAD_SIZE}"
            )
        try:
            body = json.loads(raw.decode("utf-8"))
        except ValueError:
            return _error(400, "Cannot parse JSON document.")
        if not isinstance(body, dict):
            return _error(400, "Invalid JSON document submitted.")
        listen_type = body.get("listen_type")
        payload = body.get("payload")
        if not isinstance(payload, list):
            return _error(400, "The payload in the JSON document should be a list of listens.")
        if not payload:
            return _error(400, "JSON document does not contain any listens")
        if len(payload) > MAX_LISTENS:
            return _error(400, "Too many listens. You may not submit more than 1000 listens.")
        if len(raw) > len(payload) * MAX_LISTEN_SIZE:
            return _error(
                400,
                f"JSON document is too large. Each listens may not be larger than"
                f" {MAX_LISTEN_SIZE} bytes.",
            )
        if listen_type not in ("single", "playing_now", "import"):
            return _error(400, "JSON document requires a valid listen_type key.")
        if listen_type != "import" and len(payload) != 1:
            return _error(400, "JSON document should contain exactly one listen.")
        now = time.time()
        for listen in payload:
            problem = self._invalid(listen, listen_type, now)
            if problem:
                extra = listen if isinstance(listen, dict) else {}
                return Reply(400, {**extra, "code": 400, "error": problem})
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

    def add_listen(self, listen: dict[str, Any], user: str = "rob") -> None:
        """A listen the user already has (sent by another app): stored as `_submit` stores
        one, but not counted as a submission."""
        meta = listen["track_metadata"]
        info = meta.get("additional_info", {})
        key = (
            meta["artist_name"].lower(),
            meta["track_name"].lower(),
            (meta.get("release_name") or "").lower(),
            info.get("duration_ms"),
        )
        with self.lock:
            self.msids.setdefault(key, str(uuid.uuid4()))
            self.listens.setdefault((user, int(listen["listened_at"]), key), listen)

    def _serve_received(self) -> bool:
        with self.lock:
            return self.history_size == 0 and bool(self.listens or self.pending_deletions)

    def _received(self, request: Request) -> Reply:
        """The submitted listens, paged as `_listens` pages the synthetic history."""
        try:
            max_ts = _ts_arg(request, "max_ts")
            min_ts = _ts_arg(request, "min_ts")
            count = int(request.query.get("count", [str(DEFAULT_ITEMS_PER_GET)])[0])
        except ValueError:
            return _error(400, "Incorrect timestamp argument")
        if max_ts is not None and min_ts is not None and max_ts <= min_ts:
            return _error(400, "max_ts should be greater than min_ts")
        with self.lock:
            stored = sorted(
                (at, self.msids[key], listen)
                for (user, at, key), listen in self.listens.items()
                if user == self.history_user
            )
        times = [at for at, _, _ in stored]
        chosen = fetch_listens(times, min_ts, max_ts, min(count, MAX_ITEMS_PER_GET), time.time())
        listens = []
        for i in chosen:
            at, msid, listen = stored[i]
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
        payload = {
            "count": len(listens),
            "user_id": self.history_user,
            "latest_listen_ts": times[-1] if times else 0,
            "oldest_listen_ts": times[0] if times else 0,
            "listens": listens,
        }
        return Reply(200, {"payload": payload})

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
        if not _is_uuid(msid):
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

    def _feedback_page(self, request: Request) -> Reply:
        """webserver/views/feedback_api.py `get_feedback_for_user` (l.78-126 at 0a119846d):
        `offset` and `count` by api_tools.py `get_non_negative_param` (l.414-430: not a
        non-negative integer is a 400), `count` (default 25) clamped to MAX_ITEMS_PER_GET, and
        the user's `total_count` beside the page."""
        values = {}
        for name, default in (("offset", 0), ("count", DEFAULT_ITEMS_PER_GET)):
            try:
                values[name] = int(request.query.get(name, [str(default)])[0])
            except ValueError:
                values[name] = -1
            if values[name] < 0:
                return _error(400, f"'{name}' should be a non-negative integer")
        offset, count = values["offset"], min(values["count"], MAX_ITEMS_PER_GET)
        page = self.feedback[offset : offset + count]
        return Reply(
            200,
            {
                "feedback": page,
                "count": len(page),
                "offset": offset,
                "total_count": len(self.feedback),
            },
        )

    def _recording_feedback(self, request: Request) -> Reply:
        """webserver/views/feedback_api.py `recording_feedback` (l.28-72): only these keys, an
        MBID or MSID that is a UUID (the Feedback model, db/model/feedback.py), score -1/0/1;
        the answer is `{"status": "ok"}`."""
        user = self._user(request)
        if user is None:
            return _error(401, "Invalid authorization token.")
        try:
            data = request.json()
        except ValueError:
            return _error(400, "Cannot parse JSON document.")
        if not isinstance(data, dict):
            return _error(400, "Invalid JSON document submitted.")
        if ("recording_msid" not in data and "recording_mbid" not in data) or "score" not in data:
            return _error(400, "JSON document must contain either recording_msid or recording_mbid")
        if set(data) - {"recording_msid", "recording_mbid", "score"}:
            return _error(
                400, "JSON document may only contain recording_msid, recording_mbid and score"
            )
        ids = [data[k] for k in ("recording_msid", "recording_mbid") if data.get(k) is not None]
        if not ids or not all(_is_uuid(i) for i in ids) or data["score"] not in (-1, 0, 1):
            return _error(400, "Invalid JSON document submitted: invalid recording id or score")
        with self.lock:
            self.feedback_given.append((user, data))
        return Reply(200, {"status": "ok"})

    @staticmethod
    def _invalid(listen: Any, listen_type: str, now: float) -> str | None:
        """api_tools.py `validate_listen` (l.162-241); like it, mutates the listen: strips the
        names and drops an empty `release_name` (l.244-255) and empty MBIDs (l.308-326)."""
        if not isinstance(listen, dict):
            return "Listen is not a JSON object."
        if "track_metadata" not in listen:
            return "JSON document must contain the key track_metadata at the top level."
        if listen_type == "playing_now":
            if "listened_at" in listen or len(listen) > 1:
                return "JSON document may only contain track_metadata as top level key."
        else:
            ts = listen.get("listened_at")
            if isinstance(ts, bool) or not isinstance(ts, int | str):
                return "JSON document must contain an int value for listened_at."
            try:
                ts = listen["listened_at"] = int(ts)
            except ValueError:
                return "JSON document must contain an int value for listened_at."
            if len(listen) > 2:
                return (
                    "JSON document may only contain listened_at and track_metadata top level keys"
                )
            if ts < LISTEN_MINIMUM_TS:
                return "Value for key listened_at is too low."
            if ts > now + 3600:
                return "Value for key listened_at is too high."
        meta = listen["track_metadata"]
        if not isinstance(meta, dict):
            return "JSON document may not have track_metadata with null value."
        for key, required in (("track_name", True), ("artist_name", True), ("release_name", False)):
            if key not in meta:
                if required:
                    return f"JSON document does not contain required field track_metadata.{key}."
                continue
            if not isinstance(meta[key], str):
                return f"track_metadata.{key} must be a single string."
            meta[key] = meta[key].strip()
            if not meta[key]:
                if required:
                    return f"field track_metadata.{key} is empty."
                del meta[key]
        info = meta.get("additional_info")
        if isinstance(info, dict):
            if "duration" in info and "duration_ms" in info:
                return "JSON document should not contain both duration and duration_ms."
            for key in ("release_mbid", "recording_mbid", "release_group_mbid", "track_mbid"):
                if key in info:
                    if not info[key]:
                        del info[key]
                    elif not _is_uuid(info[key]):
                        return f"{key} MBID format invalid."
        if _has_nul(listen):
            return "contains a unicode null"  # check_for_unicode_null_recursively l.144-159
        return None

    def received(self, user: str = "rob") -> list[dict[str, Any]]:
        with self.lock:
            return [listen for (u, _, _), listen in self.listens.items() if u == user]


def _ts_arg(request: Request, name: str) -> int | None:
    """api_tools.py `_parse_datetime_arg` (l.469-477): an int of seconds, or absent."""
    values = request.query.get(name)
    return int(values[0]) if values else None


def _is_uuid(value: Any) -> bool:
    """api_tools.py `is_valid_uuid` (l.258-265)."""
    try:
        uuid.UUID(value)
    except (AttributeError, TypeError, ValueError):
        return False
    return True


def _has_nul(value: Any) -> bool:
    """The real U+0000 character anywhere (api_tools.py l.144-159); a backslash followed by
    `u0000` is ordinary text."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False
