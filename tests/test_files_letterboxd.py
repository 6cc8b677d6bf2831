"""Letterboxd rows and TMDb's movie search: what counts as a certain match (api-notes
file-formats.md §4), and the search request as TMDb documents it."""

from __future__ import annotations

import asyncio
import sqlite3
import zipfile
from pathlib import Path
from typing import Any

import pytest
import respx

from scrobctl.errors import ServiceUnavailable
from scrobctl.http import ServiceLimiter, make_client
from scrobctl.services.tmdb import TmdbClient
from scrobctl.sync.files.tmdb_match import pick
from tests.exports.files import csv_text, run_import

API = "https://api.themoviedb.org"
DIARY = ["Date", "Name", "Year", "Letterboxd URI", "Rating", "Rewatch", "Tags", "Watched Date"]


def result(tmdb: int, title: str, date: str, original: str | None = None) -> dict[str, Any]:
    return {"id": tmdb, "title": title, "original_title": original or title, "release_date": date}


def test_pick_takes_the_one_result_of_the_same_title_and_year() -> None:
    results = [result(1, "Heat", "1986-01-01"), result(949, "Heat", "1995-12-15")]

    assert pick("Heat", 1995, results) == 949


def test_pick_takes_a_year_one_off_when_none_has_the_year() -> None:
    """Letterboxd's "Jesus (2018)" is TMDb's 2019 film (TraktRater#112)."""
    assert pick("Jesus", 2018, [result(7, "Jesus", "2019-03-01")]) == 7


def test_pick_prefers_the_exact_year_to_one_a_year_off() -> None:
    results = [result(1, "Solaris", "2002-11-27"), result(2, "Solaris", "2003-01-01")]

    assert pick("Solaris", 2002, results) == 1


def test_pick_refuses_two_films_of_the_same_title_and_year() -> None:
    results = [result(1, "Twins", "1988-12-09"), result(2, "Twins", "1988-01-01")]

    assert pick("Twins", 1988, results) is None


def test_pick_refuses_another_title_and_a_year_two_off() -> None:
    assert pick("Dune", 2021, [result(1, "Dune: Part Two", "2024-02-27")]) is None
    assert pick("Dune", 2021, [result(2, "Dune", "1984-12-14")]) is None


def test_pick_matches_the_original_title_ignoring_case_and_punctuation() -> None:
    results = [result(5, "Spirited Away", "2001-07-20", original="千と千尋の神隠し")]

    assert pick("千と千尋の神隠し", 2001, results) == 5
    assert pick("spirited away!", 2001, results) == 5


def search(key: str, query: str, year: int | None) -> list[dict[str, Any]]:
    async def go() -> list[dict[str, Any]]:
        async with make_client() as http:
            return await TmdbClient(API, key, http, ServiceLimiter("tmdb")).search_movie(
                query, year
            )

    return asyncio.run(go())


def test_search_sends_query_year_and_the_v3_key(tmdb_api: respx.MockRouter) -> None:
    route = tmdb_api.get("/3/search/movie").respond(
        json={
            "page": 1,
            "results": [result(949, "Heat", "1995-12-15")],
            "total_pages": 1,
            "total_results": 1,
        }
    )

    found = search("v3-key", "Heat", 1995)

    assert [r["id"] for r in found] == [949]
    sent = route.calls.last.request.url.params
    assert (sent["query"], sent["year"], sent["api_key"]) == ("Heat", "1995", "v3-key")


def test_search_sends_a_read_access_token_as_bearer(tmdb_api: respx.MockRouter) -> None:
    route = tmdb_api.get("/3/search/movie").respond(
        json={"page": 1, "results": [], "total_pages": 1, "total_results": 0}
    )

    search("eyJhbGciOiJIUzI1NiJ9.eyJhdWQiOiJ4In0.c2ln", "Heat", None)

    request = route.calls.last.request
    assert request.headers["authorization"].startswith("Bearer eyJ")
    assert "api_key" not in request.url.params and "year" not in request.url.params


def test_search_answer_without_results_is_an_error_naming_tmdb(tmdb_api: respx.MockRouter) -> None:
    tmdb_api.get("/3/search/movie").respond(json={"status_code": 200})

    with pytest.raises(ServiceUnavailable, match="tmdb"):
        search("v3-key", "Heat", None)


def test_letterboxd_watched_rows_not_in_the_diary_are_plays(
    tmp_path: Path, data_dir: Path, tmdb_api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCROBCTL_TMDB__API_KEY", "v3-key")
    films = {"Heat": result(949, "Heat", "1995-12-15"), "Alien": result(348, "Alien", "1979-05-25")}

    def answer(request: Any) -> Any:
        import httpx

        query = request.url.params["query"]
        return httpx.Response(
            200, json={"page": 1, "results": [films[query]], "total_pages": 1, "total_results": 1}
        )

    tmdb_api.get("/3/search/movie").mock(side_effect=answer)
    path = tmp_path / "letterboxd.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            "diary.csv",
            csv_text(
                DIARY,
                [["2024-01-02", "Heat", 1995, "https://boxd.it/a", "4.5", "", "", "2024-01-01"]],
            ),
        )
        archive.writestr(
            "watched.csv",
            csv_text(
                ["Date", "Name", "Year", "Letterboxd URI"],
                [
                    ["2020-05-05", "Heat", 1995, "https://boxd.it/f1"],
                    ["2020-05-05", "Alien", 1979, "https://boxd.it/f2"],
                ],
            ),
        )

    result_ = run_import(path)

    conn = sqlite3.connect(data_dir / "scrobctl.db")
    got = conn.execute(
        "SELECT i.tmdb, p.watched_at FROM plays p JOIN items i ON i.id = p.item_id"
        " ORDER BY p.watched_at"
    ).fetchall()
    rating = conn.execute("SELECT rating, rated_at, source FROM ratings").fetchall()
    conn.close()
    assert result_.summary.plays == 2
    assert got == [(348, 1588680000), (949, 1704110400)]  # 12:00 UTC on the day
    assert rating == [(9.0, 1704110400, "letterboxd")]  # 4.5 stars of 5


def test_unsettled_report_lines_are_reported_again_to_settle_later(
    tmp_path: Path, data_dir: Path, tmdb_api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from tests.exports.files import report_lines

    monkeypatch.setenv("SCROBCTL_TMDB__API_KEY", "v3-key")
    twins = [result(1, "Twins", "1988-12-09"), result(2, "Twins", "1988-01-01")]
    tmdb_api.get("/3/search/movie").respond(
        json={"page": 1, "results": twins, "total_pages": 1, "total_results": 2}
    )
    path = tmp_path / "letterboxd.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            "diary.csv",
            csv_text(
                DIARY,
                [["2024-01-02", "Twins", 1988, "https://boxd.it/a", "3", "", "", "2024-01-01"]],
            ),
        )

    first = run_import(path)
    untouched = tmp_path / "untouched.jsonl"
    untouched.write_text(first.report.read_text())  # type: ignore[union-attr]
    second = run_import(untouched)
    [entry] = report_lines(second)
    entry["tmdb"] = 2
    settled = tmp_path / "settled.jsonl"
    settled.write_text(json.dumps(entry) + "\n")
    third = run_import(settled)

    assert (first.summary.unmatched, second.summary.unmatched) == (1, 1)
    assert (entry["format"], entry["member"], [c["tmdb"] for c in entry["candidates"]]) == (
        "letterboxd",
        "diary.csv",
        [1, 2],
    )
    assert (third.summary.plays, third.summary.ratings) == (1, 1)
    conn = sqlite3.connect(data_dir / "scrobctl.db")
    got = conn.execute("SELECT i.tmdb, p.source FROM plays p JOIN items i ON i.id = p.item_id")
    assert got.fetchall() == [(2, "file:letterboxd")]
    conn.close()
