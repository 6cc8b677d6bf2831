"""Optional TMDb resolution on import: IMDb/TVDB-only video gets its TMDb id, so it matches."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import respx

from scrobctl.http import ServiceLimiter, make_client
from scrobctl.services.tmdb import TmdbClient
from scrobctl.store.imports import ImportedPlay
from scrobctl.store.items import ItemRef
from scrobctl.sync.pages import Page
from scrobctl.sync.resolve import TmdbResolver

API = "https://api.themoviedb.org"


V3_KEY = "0123456789abcdef0123456789abcdef"
# The shape of TMDb's v4 API Read Access Token: a JWT (header.payload.signature, base64url).
V4_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJhdWQiOiJ0ZXN0Iiwic2NvcGVzIjpbImFwaV9yZWFkIl19.c2lnbmF0dXJl"


def resolve(ref: ItemRef, key: str = "tmdb-key") -> ItemRef:
    async def go() -> ItemRef:
        async with make_client() as http:
            client = TmdbClient(API, key, http, ServiceLimiter("tmdb"))
            return await TmdbResolver(client).ref(ref)

    return asyncio.run(go())


def test_tmdb_find_gives_an_imdb_only_movie_its_tmdb_id(tmdb_api: respx.MockRouter) -> None:
    route = tmdb_api.get("/3/find/tt0133093").respond(
        json={"movie_results": [{"id": 603, "title": "The Matrix"}], "tv_results": []}
    )
    ref = resolve(ItemRef("movie", {"imdb": "tt0133093"}))
    assert ref.ids == {"imdb": "tt0133093", "tmdb": 603}
    assert route.calls.last.request.url.params["external_source"] == "imdb_id"


def test_tmdb_find_resolves_a_show_by_tvdb_id(tmdb_api: respx.MockRouter) -> None:
    tmdb_api.get("/3/find/371980").respond(
        json={"movie_results": [], "tv_results": [{"id": 95396}]}
    )
    episode = ItemRef("episode", {}, show=ItemRef("show", {"tvdb": 371980}), season=1, number=2)
    assert resolve(episode).show.ids["tmdb"] == 95396


def test_tmdb_failure_leaves_the_item_as_it_was(tmdb_api: respx.MockRouter) -> None:
    tmdb_api.get("/3/find/tt1").respond(401, json={"status_code": 7, "status_message": "Invalid"})
    assert resolve(ItemRef("movie", {"imdb": "tt1"})).ids == {"imdb": "tt1"}


def test_tmdb_is_not_asked_when_the_tmdb_id_is_known(tmdb_api: respx.MockRouter) -> None:
    ref = ItemRef("movie", {"imdb": "tt0133093", "tmdb": 603})
    assert resolve(ref) == ref
    assert not tmdb_api.calls


def test_tmdb_no_result_keeps_the_ref(tmdb_api: respx.MockRouter) -> None:
    tmdb_api.get("/3/find/tt9").respond(json={"movie_results": []})
    assert resolve(ItemRef("movie", {"imdb": "tt9"})).ids == {"imdb": "tt9"}
    assert isinstance(httpx.URL(API), httpx.URL)


class OnePage:
    """A reader serving one page of plays, as any service's reader would."""

    def __init__(self, service: str, refs: list[ItemRef], at: int) -> None:
        self.service = service
        self._plays = [ImportedPlay(ref, at) for ref in refs]

    async def pages(self, cursor: dict, since: int | None) -> AsyncIterator[Page]:
        yield Page(plays=self._plays, cursor={"page": 1})


def test_import_with_tmdb_key_makes_one_item_of_an_imdb_only_and_a_tmdb_only_movie(
    tmdb_api: respx.MockRouter, store: Any, data_dir: Path
) -> None:
    from scrobctl.config import Settings
    from scrobctl.runtime import Runtime
    from scrobctl.sync.importer import run_import

    tmdb_api.get("/3/find/tt0133093").respond(json={"movie_results": [{"id": 603}]})
    runtime = Runtime(settings=Settings(token_store="file"), warn=lambda _: None)

    async def go() -> None:
        async with make_client() as http:
            resolver = TmdbResolver(TmdbClient(API, "k", http, ServiceLimiter("tmdb")))
            trakt = OnePage("trakt", [ItemRef("movie", {"tmdb": 603})], 1_700_000_000)
            simkl = OnePage("simkl", [ItemRef("movie", {"imdb": "tt0133093"})], 1_700_000_000)
            await run_import(runtime, trakt, "default", resolver=resolver)
            await run_import(runtime, simkl, "default", resolver=resolver)

    asyncio.run(go())
    conn = runtime.store().conn
    assert conn.execute("SELECT count(*) FROM items").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM plays").fetchone()[0] == 1
    services = {r[0] for r in conn.execute("SELECT service FROM scrobbles")}
    assert services == {"trakt", "simkl"}
    runtime.close()


# -- both credentials (developer.themoviedb.org authentication; issue #15) -----------------------


def test_tmdb_v4_read_access_token_is_sent_as_bearer_not_as_api_key(
    tmdb_api: respx.MockRouter,
) -> None:
    route = tmdb_api.get("/3/find/tt0133093").respond(json={"movie_results": [{"id": 603}]})

    assert resolve(ItemRef("movie", {"imdb": "tt0133093"}), V4_TOKEN).ids["tmdb"] == 603

    request = route.calls.last.request
    assert request.headers["Authorization"] == f"Bearer {V4_TOKEN}"
    assert "api_key" not in request.url.params


def test_tmdb_v3_api_key_is_sent_as_the_api_key_parameter(tmdb_api: respx.MockRouter) -> None:
    route = tmdb_api.get("/3/find/tt0133093").respond(json={"movie_results": [{"id": 603}]})

    resolve(ItemRef("movie", {"imdb": "tt0133093"}), V3_KEY)

    request = route.calls.last.request
    assert request.url.params["api_key"] == V3_KEY
    assert "Authorization" not in request.headers
