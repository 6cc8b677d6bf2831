"""ListenBrainz's history endpoints as respx answers them (test_import_listenbrainz.py)."""

from __future__ import annotations

from typing import Any

import httpx
import respx

from tests.helpers import NOW

API = "https://api.listenbrainz.org"
SERVICE = "listenbrainz"
USER = "rob"
PAGE = 1000  # MAX_ITEMS_PER_GET (api-notes B.6)
DEFAULT_COUNT = 25
TRACKS = 50  # distinct recordings the generated listens cycle through
DAY = 86_400


def msid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def mbid(n: int) -> str:
    return f"10000000-0000-4000-8000-{n:012d}"


def listen(
    at: int, n: int, *, artist: str | None = None, title: str | None = None
) -> dict[str, Any]:
    """One listen as `/listens` returns it (api-notes B.6), of recording `n`."""
    track = title or f"Track {n:03d}"
    return {
        "listened_at": at,
        "inserted_at": at + 5,
        "recording_msid": msid(n),
        "user_name": USER,
        "track_metadata": {
            "artist_name": artist or f"Artist {n % 7}",
            "track_name": track,
            "release_name": "Album",
            "additional_info": {
                "recording_msid": msid(n),
                "submission_client": "scrobctl-test",
                "duration_ms": 200_000,
            },
            "mbid_mapping": {
                "recording_mbid": mbid(n),
                "recording_name": track,
                "release_mbid": "20000000-0000-4000-8000-000000000001",
                "artist_mbids": ["30000000-0000-4000-8000-000000000001"],
            },
        },
    }


def listens(count: int, *, newest: int = NOW - 300, step: int = 300) -> list[dict[str, Any]]:
    """`count` listens newest first, `step` seconds apart, cycling through TRACKS recordings."""
    return [listen(newest - i * step, i % TRACKS) for i in range(count)]


def feedback(n: int, score: int, created: int) -> dict[str, Any]:
    """One get-feedback entry with metadata=true (api-notes B.7)."""
    return {
        "user_id": USER,
        "recording_msid": msid(n),
        "recording_mbid": mbid(n),
        "score": score,
        "created": created,
        "track_metadata": {
            "artist_name": f"Artist {n % 7}",
            "track_name": f"Track {n:03d}",
            "release_name": "Album",
            "mbid_mapping": {"recording_mbid": mbid(n)},
        },
    }


def _int(query: dict[str, str], name: str) -> int | None:
    return int(query[name]) if name in query else None


class FakeListenBrainz:
    """`listen-count`, `listens` and `get-feedback` for USER on api.listenbrainz.org.

    Listens: `count` (default 25, clamped to 1000, negative is a 400), `max_ts` and `min_ts`
    exclusive, both together only when min_ts < max_ts; newest first always. With min_ts, alone or
    with max_ts, it picks the OLDEST `count` listens after min_ts (listenbrainz-server
    listenstore/timescale_listenstore.py fetch_listens l.224-227, l.382, commit 0a119846d);
    with max_ts alone the newest below it. The payload
    carries the user's overall `latest_listen_ts`/`oldest_listen_ts`. `blind_beyond` imitates the
    server's bounded window search: without min_ts, listens older than max_ts - blind_beyond are
    not found, so a long gap gives an empty page although older listens exist. The n-th listens
    request (1-based) answers 503 when n is in `fail_requests`.
    """

    def __init__(
        self,
        items: list[dict[str, Any]] | None = None,
        *,
        loves: list[dict[str, Any]] | None = None,
        blind_beyond: int | None = None,
    ) -> None:
        self.listens = sorted(items or [], key=lambda x: x["listened_at"], reverse=True)
        self.feedback = list(loves or [])
        self.blind_beyond = blind_beyond
        self.fail_requests: set[int] = set()
        self.requests: list[dict[str, str]] = []  # listens query parameters, in order
        self.count_requests = 0
        self.feedback_requests: list[dict[str, str]] = []

    def install(self, router: respx.MockRouter) -> FakeListenBrainz:
        router.get(f"{API}/1/user/{USER}/listens").mock(side_effect=self._listens)
        router.get(f"{API}/1/user/{USER}/listen-count").mock(side_effect=self._count)
        router.get(f"{API}/1/feedback/user/{USER}/get-feedback").mock(side_effect=self._feedback)
        return self

    def add(self, *items: dict[str, Any]) -> None:
        self.listens = sorted([*self.listens, *items], key=lambda x: x["listened_at"], reverse=True)

    @property
    def max_ts_sent(self) -> list[int | None]:
        return [_int(q, "max_ts") for q in self.requests]

    def since_sent(self) -> list[int | None]:
        return [_int(q, "min_ts") for q in self.requests]

    def _count(self, _request: httpx.Request) -> httpx.Response:
        self.count_requests += 1
        return httpx.Response(200, json={"payload": {"count": len(self.listens)}})

    def _listens(self, request: httpx.Request) -> httpx.Response:
        query = dict(request.url.params)
        self.requests.append(query)
        if len(self.requests) in self.fail_requests:
            return httpx.Response(503, json={"code": 503, "error": "Service Unavailable"})
        count = int(query.get("count", DEFAULT_COUNT))
        max_ts, min_ts = _int(query, "max_ts"), _int(query, "min_ts")
        if count < 0 or (max_ts is not None and min_ts is not None and min_ts >= max_ts):
            return httpx.Response(400, json={"code": 400, "error": "bad parameters"})
        count = min(count, PAGE)
        times = [x["listened_at"] for x in self.listens]
        eligible = [
            x
            for x in self.listens
            if (max_ts is None or x["listened_at"] < max_ts)
            and (min_ts is None or x["listened_at"] > min_ts)
        ]
        if min_ts is not None:
            chosen = eligible[-count:] if count else []
        else:
            if self.blind_beyond is not None and min_ts is None:
                top = max_ts if max_ts is not None else max(times, default=0) + 1
                eligible = [x for x in eligible if x["listened_at"] >= top - self.blind_beyond]
            chosen = eligible[:count]
        payload = {
            "count": len(chosen),
            "user_id": USER,
            "latest_listen_ts": max(times, default=0),
            "oldest_listen_ts": min(times, default=0),
            "listens": chosen,
        }
        return httpx.Response(200, json={"payload": payload})

    def _feedback(self, request: httpx.Request) -> httpx.Response:
        query = dict(request.url.params)
        self.feedback_requests.append(query)
        count = min(int(query.get("count", DEFAULT_COUNT)), PAGE)
        offset = int(query.get("offset", "0"))
        items = self.feedback[offset : offset + count]
        return httpx.Response(
            200,
            json={
                "feedback": items,
                "count": len(items),
                "total_count": len(self.feedback),
                "offset": offset,
            },
        )


# -- fixtures and helpers -------------------------------------------------------------------------
