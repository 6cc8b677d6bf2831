"""`scrobctl import lastfm` (sync/readers/lastfm.py) through the real use case:
`user.getRecentTracks` paged with limit=200 and a fixed `to` (api-notes A.6), later pages fetched
concurrently and written in order, then `user.getLovedTracks` as ratings of 10 (A.7). respx stands
in for ws.audioscrobbler.com with a fake that answers in Last.fm's XML-shaped JSON.

FakeLastfm, login_lastfm_for_import and the builders are shared with tests/test_importer.py.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from scrobctl.runtime import Runtime
from scrobctl.store import connections
from scrobctl.sync.importer import ImportResult
from scrobctl.sync.service import import_history
from tests.conftest import FakeClock
from tests.helpers import make_runtime, watched_times

API = "https://ws.audioscrobbler.com/2.0/"
SERVICE = "lastfm"
PROFILE = "default"
USER = "rob"
NOW = 1_795_000_000  # FakeClock's start
LASTFM_APP = {"api_key": "dummy-lastfm-api-key", "api_secret": "dummy-lastfm-secret"}
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


def login_lastfm_for_import(runtime: Runtime) -> None:
    connections.save_login(runtime.store(), PROFILE, SERVICE, USER)
    runtime.tokens().set(PROFILE, SERVICE, {"session_key": "dummy-session-key"})


def lastfm_runtime(data_dir: Path, clock: FakeClock) -> Runtime:
    runtime = make_runtime(data_dir, clock, lastfm=LASTFM_APP)
    login_lastfm_for_import(runtime)
    return runtime


@pytest.fixture
def runtime(isolated_env: Path, clock: FakeClock) -> Iterator[Runtime]:
    rt = lastfm_runtime(isolated_env, clock)
    yield rt
    rt.close()


def run(runtime: Runtime, **options: Any) -> ImportResult:
    return asyncio.run(import_history(runtime, SERVICE, PROFILE, **options))


def times_of(items: list[Scrobble]) -> list[int]:
    return sorted((s.uts for s in items), reverse=True)


# -- paging -------------------------------------------------------------------------------------


def test_lastfm_import_empty_history_imports_nothing_and_finishes(
    runtime: Runtime, api: respx.MockRouter
) -> None:
    fake = FakeLastfm([]).install(api)

    result = run(runtime)

    assert fake.pages == [1]
    assert watched_times(runtime) == []
    assert (result.progress.processed, result.report) == (0, None)
    assert runtime.store().conn.execute("SELECT state FROM imports").fetchone()[0] == "done"


def test_lastfm_import_exactly_one_full_page_is_one_request(
    runtime: Runtime, api: respx.MockRouter
) -> None:
    items = scrobbles(PAGE)
    fake = FakeLastfm(items).install(api)

    run(runtime)

    assert fake.pages == [1]
    assert watched_times(runtime) == times_of(items)


def test_lastfm_import_short_last_page_imports_every_scrobble(
    runtime: Runtime, api: respx.MockRouter
) -> None:
    items = scrobbles(2 * PAGE + 50)
    fake = FakeLastfm(items).install(api)

    run(runtime)

    assert sorted(fake.pages) == [1, 2, 3]
    assert watched_times(runtime) == times_of(items)


def test_lastfm_import_sends_limit_200_and_one_fixed_to_on_every_page(
    runtime: Runtime, api: respx.MockRouter, clock: FakeClock
) -> None:
    fake = FakeLastfm(scrobbles(5 * PAGE - 10), clock=clock, tick=120).install(api)

    run(runtime)

    assert sorted(fake.pages) == [1, 2, 3, 4, 5]
    assert {q.get("limit") for q in fake.recent} == {"200"}
    assert {q.get("to") for q in fake.recent} == {str(NOW)}


def test_lastfm_import_reports_the_total_from_the_first_page(
    runtime: Runtime, api: respx.MockRouter
) -> None:
    FakeLastfm(scrobbles(2 * PAGE + 50)).install(api)
    totals: list[int | None] = []

    run(runtime, on_page=lambda p: totals.append(p.total))

    assert totals[0] == 2 * PAGE + 50


def test_lastfm_import_skips_the_now_playing_entry_on_every_page(
    runtime: Runtime, api: respx.MockRouter
) -> None:
    items = scrobbles(2 * PAGE + 50)
    FakeLastfm(items, now_playing_everywhere=True).install(api)

    result = run(runtime)

    assert watched_times(runtime) == times_of(items)
    assert (result.progress.failed, result.report) == (0, None)
    titles = runtime.store().conn.execute("SELECT title FROM items").fetchall()
    assert "Playing Right Now" not in {r[0] for r in titles}


def test_lastfm_import_single_track_answered_as_a_bare_object_is_imported(
    runtime: Runtime, api: respx.MockRouter
) -> None:
    items = scrobbles(PAGE + 1)  # the second page holds one track: a bare object, not a list
    FakeLastfm(items).install(api)

    run(runtime)

    assert watched_times(runtime) == times_of(items)


def test_lastfm_import_a_lone_scrobble_beside_now_playing_is_imported(
    runtime: Runtime, api: respx.MockRouter
) -> None:
    items = scrobbles(1)
    FakeLastfm(items, now_playing=True).install(api)

    result = run(runtime)

    assert watched_times(runtime) == times_of(items)
    assert result.report is None


def test_lastfm_import_fetches_later_pages_concurrently(
    runtime: Runtime, api: respx.MockRouter
) -> None:
    fake = FakeLastfm(scrobbles(5 * PAGE)).install(api)

    run(runtime)

    assert fake.max_in_flight > 1


def test_lastfm_import_writes_concurrent_pages_in_page_order(
    runtime: Runtime, api: respx.MockRouter
) -> None:
    items = scrobbles(5 * PAGE)
    fake = FakeLastfm(items).install(api)
    fake.delays = {2: 40, 3: 20, 4: 10, 5: 0}  # answers arrive 5, 4, 3, 2

    run(runtime)

    assert fake.answered == [1, 5, 4, 3, 2]
    rows = runtime.store().conn.execute("SELECT watched_at FROM plays ORDER BY id")
    assert [r[0] for r in rows] == times_of(items)  # inserted newest first: page 1, 2, ... 5


def test_lastfm_import_records_every_scrobble_as_on_lastfm(
    runtime: Runtime, api: respx.MockRouter
) -> None:
    items = scrobbles(3)
    FakeLastfm(items).install(api)

    run(runtime)

    rows = runtime.store().conn.execute(
        "SELECT service, scrobbled_at, source FROM scrobbles ORDER BY scrobbled_at DESC"
    )
    assert [tuple(r) for r in rows] == [("lastfm", t, "imported") for t in times_of(items)]


def test_lastfm_import_tracks_are_matched_by_artist_title_and_album(
    runtime: Runtime, api: respx.MockRouter
) -> None:
    same = [Scrobble(NOW - 3000, "Hurt"), Scrobble(NOW - 1000, "hurt ")]  # case and spaces
    FakeLastfm(same).install(api)

    result = run(runtime)

    conn = runtime.store().conn
    assert conn.execute("SELECT count(*) FROM items").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM plays").fetchone()[0] == 2
    assert result.progress.matched == 0  # weak matches: no ids on either


# -- loved tracks -------------------------------------------------------------------------------


def test_lastfm_import_loved_tracks_are_ratings_of_10(
    runtime: Runtime, api: respx.MockRouter
) -> None:
    loved = [
        Scrobble(NOW - 86_400, "Hurt", mbid="8d2338e6-7f1d-4b42-a2c8-1d2c8a1f3e7b"),
        Scrobble(NOW - 3600, "One"),
    ]
    FakeLastfm([], loved=loved).install(api)

    run(runtime)

    rows = runtime.store().conn.execute(
        "SELECT i.artist, i.title, i.mbid, r.rating, r.rated_at, r.source FROM ratings r"
        " JOIN items i ON i.id = r.item_id ORDER BY r.rated_at"
    )
    assert [tuple(r) for r in rows] == [
        (
            "Johnny Cash",
            "Hurt",
            "8d2338e6-7f1d-4b42-a2c8-1d2c8a1f3e7b",
            10.0,
            NOW - 86_400,
            "lastfm",
        ),
        ("Johnny Cash", "One", None, 10.0, NOW - 3600, "lastfm"),
    ]


def test_lastfm_import_love_of_a_scrobbled_track_rates_the_played_item(
    runtime: Runtime, api: respx.MockRouter
) -> None:
    hurt = Scrobble(NOW - 3600, "Hurt")
    FakeLastfm([hurt], loved=[hurt]).install(api)

    run(runtime)

    conn = runtime.store().conn
    played = conn.execute("SELECT item_id FROM plays").fetchone()[0]
    rated = conn.execute("SELECT item_id FROM ratings").fetchone()[0]
    assert rated == played


# -- a later step that fails (issue #15) --------------------------------------------------------


def test_lastfm_import_loved_tracks_error_3_keeps_the_plays_complete_and_the_import_done(
    runtime: Runtime, api: respx.MockRouter
) -> None:
    items = scrobbles(PAGE + 50)
    fake = FakeLastfm(items)
    fake.unsupported.add("user.getLovedTracks")
    fake.install(api)

    result = run(runtime)

    assert watched_times(runtime) == times_of(items)
    assert result.failed_step is not None and result.failed_step.step == "loved tracks"
    assert "error 3" in result.failed_step.error.reason
    row = runtime.store().conn.execute("SELECT state, high_water FROM imports").fetchone()
    assert tuple(row) == ("done", max(s.uts for s in items))
