"""Last.fm's history endpoints as respx answers them (test_import_lastfm.py, test_importer.py)."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from typing import Any

import httpx
import respx

from tests.conftest import FakeClock
from tests.helpers import NOW

API = "https://ws.audioscrobbler.com/2.0/"
SERVICE = "lastfm"
USER = "rob"
PAGE = 200  # the documented maximum (api-notes A.6)
DEFAULT_LIMIT = 50


@dataclass(frozen=True)
class Scrobble:
    uts: int
    title: str
    artist: str = "Johnny Cash"
    album: str = "American IV"
    mbid: str = ""


def scrobbles(count: int, *, newest: int = NOW - 300, step: int = 300) -> list[Scrobble]:
    return [Scrobble(newest - i * step, f"Song {i:05d}") for i in range(count)]


def _image() -> list[dict[str, str]]:
    return [{"size": "small", "#text": "https://lastfm.freetls.fastly.net/i/u/34s/abc.png"}]


def track_json(s: Scrobble) -> dict[str, Any]:
    """One `recenttracks.track` item (api-notes A.6): numbers as strings, text under #text."""
    return {
        "artist": {"mbid": "", "#text": s.artist},
        "streamable": "0",
        "image": _image(),
        "mbid": s.mbid,
        "album": {"mbid": "", "#text": s.album},
        "name": s.title,
        "url": f"https://www.last.fm/music/Johnny+Cash/_/{s.title.replace(' ', '+')}",
        "date": {"uts": str(s.uts), "#text": "18 Nov 2026, 10:00"},
    }


def now_playing_json(title: str = "Playing Right Now") -> dict[str, Any]:
    """The entry prepended while the user listens: @attr.nowplaying and no date."""
    entry = track_json(Scrobble(0, title))
    del entry["date"]
    return {**entry, "@attr": {"nowplaying": "true"}}


def loved_json(s: Scrobble) -> dict[str, Any]:
    """One `lovedtracks.track` item (api-notes A.7): artist as {name, mbid, url}, no album."""
    return {
        "artist": {"url": "https://www.last.fm/music/Johnny+Cash", "name": s.artist, "mbid": ""},
        "date": {"uts": str(s.uts), "#text": "18 Nov 2026, 10:00"},
        "mbid": s.mbid,
        "url": f"https://www.last.fm/music/Johnny+Cash/_/{s.title.replace(' ', '+')}",
        "name": s.title,
        "image": _image(),
        "streamable": {"fulltrack": "0", "#text": "0"},
    }


def _one_or_list(items: list[dict[str, Any]]) -> Any:
    """Translated XML: a lone element comes back as a bare object (api-notes A.1, trap 2)."""
    return items[0] if len(items) == 1 else items


class FakeLastfm:
    """`user.getRecentTracks` and `user.getLovedTracks` on the 2.0 root, as an async side effect.

    Recent tracks honour `limit` (default 50, at most 200), `page`, `from` and `to` (inclusive),
    newest first; `now_playing` puts the now-playing entry first on page 1 (or on every page with
    `now_playing_everywhere`). `delays[page]` makes that page's answer wait that many event-loop
    turns; `in_flight`/`max_in_flight` count requests being answered at once. Pages in
    `fail_pages` answer 503. With a clock, every request advances it by `tick` seconds.
    """

    def __init__(
        self,
        items: list[Scrobble] | None = None,
        *,
        loved: list[Scrobble] | None = None,
        now_playing: bool = False,
        now_playing_everywhere: bool = False,
        clock: FakeClock | None = None,
        tick: float = 0.0,
    ) -> None:
        self.clock = clock
        self.tick = tick
        self.scrobbles = sorted(items or [], key=lambda s: s.uts, reverse=True)
        self.loved = list(loved or [])
        self.now_playing = now_playing or now_playing_everywhere
        self.now_playing_everywhere = now_playing_everywhere
        self.delays: dict[int, int] = {}
        self.fail_pages: set[int] = set()
        self.requests: list[dict[str, str]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.answered: list[int] = []  # recent-tracks pages, in the order their answers left
        self.unsupported: set[str] = set()  # methods answered as a compatible server lacks them

    def install(self, router: respx.MockRouter) -> FakeLastfm:
        router.get(API).mock(side_effect=self.answer)
        return self

    def add(self, *items: Scrobble) -> None:
        self.scrobbles = sorted([*self.scrobbles, *items], key=lambda s: s.uts, reverse=True)

    @property
    def recent(self) -> list[dict[str, str]]:
        return [q for q in self.requests if q.get("method") == "user.getRecentTracks"]

    @property
    def pages(self) -> list[int]:
        return [int(q.get("page", "1")) for q in self.recent]

    def since_sent(self) -> list[int | None]:
        return [int(q["from"]) if "from" in q else None for q in self.recent]

    async def answer(self, request: httpx.Request) -> httpx.Response:
        query = dict(request.url.params)
        self.requests.append(query)
        if self.clock is not None:
            self.clock.t += self.tick
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            for _ in range(self.delays.get(int(query.get("page", "1")), 2)):
                await asyncio.sleep(0)
            if query.get("user") != USER:
                return httpx.Response(404, json={"error": 6, "message": "User not found"})
            if query.get("method") == "user.getRecentTracks":
                self.answered.append(int(query.get("page", "1")))
                return self._recent(query)
            if query.get("method") in self.unsupported:
                # How a compatible server answers a method it lacks: HTTP 200, error 3
                # (krateng/maloja maloja/apis/audioscrobbler.py l.26).
                return httpx.Response(200, json={"error": 3, "message": "Invalid method"})
            if query.get("method") == "user.getLovedTracks":
                return self._loved(query)
            return httpx.Response(400, json={"error": 3, "message": "Invalid Method"})
        finally:
            self.in_flight -= 1

    def _recent(self, query: dict[str, str]) -> httpx.Response:
        page = int(query.get("page", "1"))
        if page in self.fail_pages:
            return httpx.Response(503, text="Service Temporarily Unavailable")
        limit = min(int(query.get("limit", DEFAULT_LIMIT)), PAGE)
        low = int(query["from"]) if "from" in query else None
        high = int(query["to"]) if "to" in query else None
        chosen = [
            s
            for s in self.scrobbles
            if (low is None or s.uts >= low) and (high is None or s.uts <= high)
        ]
        tracks = [track_json(s) for s in chosen[(page - 1) * limit : page * limit]]
        if self.now_playing and (page == 1 or self.now_playing_everywhere):
            tracks.insert(0, now_playing_json())
        attr = {
            "user": USER,
            "totalPages": str(math.ceil(len(chosen) / limit)),
            "page": str(page),
            "perPage": str(limit),
            "total": str(len(chosen)),
        }
        return httpx.Response(
            200, json={"recenttracks": {"track": _one_or_list(tracks), "@attr": attr}}
        )

    def _loved(self, query: dict[str, str]) -> httpx.Response:
        page = int(query.get("page", "1"))
        limit = min(int(query.get("limit", DEFAULT_LIMIT)), 1000)
        tracks = [loved_json(s) for s in self.loved[(page - 1) * limit : page * limit]]
        attr = {
            "user": USER,
            "totalPages": str(math.ceil(len(self.loved) / limit)),
            "page": str(page),
            "perPage": str(limit),
            "total": str(len(self.loved)),
        }
        return httpx.Response(
            200, json={"lovedtracks": {"track": _one_or_list(tracks), "@attr": attr}}
        )


# -- fixtures and helpers -----------------------------------------------------------------------
