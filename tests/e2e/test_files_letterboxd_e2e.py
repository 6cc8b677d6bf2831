"""Letterboxd's export through the installed `scrobctl import --file`, films matched by the fake
TMDb search (tests/fakes/tmdb.py), the uncertain ones settled in the report (issue #20)."""

from __future__ import annotations

import json
import sqlite3
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Cli
from tests.exports.files import csv_text
from tests.fakes.tmdb import FakeTmdb, Film

DIARY = ["Date", "Name", "Year", "Letterboxd URI", "Rating", "Rewatch", "Tags", "Watched Date"]
KEY = "tmdb-e2e-key"


@pytest.fixture
def tmdb() -> Iterator[FakeTmdb]:
    fake = FakeTmdb(api_key=KEY)
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def lb_cli(cli: Cli, cli_env: dict[str, str], tmdb: FakeTmdb) -> Cli:
    cli_env["SCROBCTL_TMDB__API_KEY"] = KEY
    cli_env["SCROBCTL_TMDB__API_URL"] = tmdb.url
    return cli


def day(i: int) -> str:
    return f"20{10 + i // 365:02d}-{1 + (i // 28) % 12:02d}-{1 + i % 28:02d}"


def scenario(tmdb: FakeTmdb, path: Path) -> dict[str, Any]:
    """500 diary rows: 450 films, 50 rewatches; 30 films whose Letterboxd year is one more than
    TMDb's; 10 that TMDb knows only under a longer title (candidates, no certain match); 20
    films that share their title with a remake 20 years earlier."""
    diary, ratings, expected = [], [], {"matched": {}, "unmatched": {}}
    for i in range(450):
        year = 1950 + i % 70
        name = f"Film {i:03d}"
        if i < 10:
            film = tmdb.add(Film(5000 + i, f"{name} Redux", f"{year}-05-01"))
            expected["unmatched"][name] = film.id
        else:
            primary = year - 1 if i < 40 else year  # 30 whose year is off by one
            film = tmdb.add(Film(1000 + i, name, f"{primary}-11-20", popularity=2.0))
            expected["matched"][name] = film.id
            if 40 <= i < 60:
                tmdb.add(Film(9000 + i, name, f"{year - 20}-01-01", popularity=9.0))
        stars = "" if i % 9 == 0 else str(0.5 + (i % 10) * 0.5)
        diary.append([day(i), name, year, f"https://boxd.it/{i:x}", stars, "", "", day(i)])
        if stars:
            ratings.append([day(i), name, year, f"https://boxd.it/f{i:x}", stars])
    for i in range(50):  # rewatches of matched films, two years later
        name, year = f"Film {100 + i:03d}", 1950 + (100 + i) % 70
        diary.append(
            [day(600 + i), name, year, f"https://boxd.it/r{i:x}", "4", "Yes", "", day(600 + i)]
        )
    watched = [[row[0], row[1], row[2], row[3]] for row in diary[:450]]
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("diary.csv", csv_text(DIARY, diary))
        archive.writestr(
            "watched.csv", csv_text(["Date", "Name", "Year", "Letterboxd URI"], watched)
        )
        archive.writestr(
            "ratings.csv", csv_text(["Date", "Name", "Year", "Letterboxd URI", "Rating"], ratings)
        )
        archive.writestr("profile.csv", "Date Joined,Username\n2010-01-01,rob\n")
        archive.writestr("deleted/diary.csv", csv_text(DIARY, []))
    expected["rated"] = {row[1] for row in diary if row[4]}
    return expected


def db(cli_env: dict[str, str]) -> sqlite3.Connection:
    return sqlite3.connect(Path(cli_env["SCROBCTL_DATA_DIR"]) / "scrobctl.db")


def report_path(stderr: str) -> Path:
    [line] = [line for line in stderr.splitlines() if "are listed in" in line]
    return Path(line.rsplit(" ", 1)[-1])


def test_letterboxd_500_diary_rows_import_and_settle_in_the_report(
    lb_cli: Cli, cli_env: dict[str, str], tmdb: FakeTmdb, tmp_path: Path
) -> None:
    expected = scenario(tmdb, tmp_path / "letterboxd-rob-2026-12-01.zip")

    first = lb_cli("import", "--file", str(tmp_path / "letterboxd-rob-2026-12-01.zip"), timeout=120)

    assert first.returncode == 0, first.stderr
    assert "films looked up on TMDb: 450 of 450" in first.stderr  # progress without a terminal
    conn = db(cli_env)
    got = conn.execute(
        "SELECT i.title, i.tmdb, count(*) FROM plays p JOIN items i ON i.id = p.item_id"
        " WHERE p.source = 'file:letterboxd' GROUP BY i.id"
    ).fetchall()
    assert sum(n for _, _, n in got) == 490
    assert {title: tmdb_id for title, tmdb_id, _ in got} == expected["matched"]
    rated = {
        r[0]
        for r in conn.execute(
            "SELECT i.title FROM ratings r JOIN items i ON i.id = r.item_id"
            " WHERE r.source = 'letterboxd'"
        )
    }
    assert rated == expected["rated"] - set(expected["unmatched"])  # those wait with their film
    assert conn.execute(
        "SELECT rating FROM ratings r JOIN items i ON i.id = r.item_id WHERE i.tmdb = 1011"
    ).fetchone() == (1.0 * 2,)  # 1 star, as 2 of 10
    report = report_path(first.stderr)
    entries = [json.loads(line) for line in report.read_text().splitlines()]
    unmatched = [e for e in entries if e["outcome"] == "unmatched"]
    assert sorted(e["data"]["Name"] for e in unmatched if e["member"] == "diary.csv") == sorted(
        expected["unmatched"]
    )
    assert all(e["candidates"] and e["tmdb"] is None for e in unmatched)
    assert "unmatched 18" in first.stderr  # the 10 films' diary rows and 8 ratings, first.stderr

    settled = []
    for entry in entries:
        if entry["outcome"] == "unmatched":
            entry["tmdb"] = entry["candidates"][0]["tmdb"]
        settled.append(json.dumps(entry))
    report.write_text("\n".join(settled) + "\n")
    second = lb_cli("import", "--file", str(report))

    assert second.returncode == 0, second.stderr
    total = conn.execute("SELECT count(*) FROM plays").fetchone()[0]
    assert total == 500
    new = dict(
        conn.execute(
            "SELECT i.title, i.tmdb FROM plays p JOIN items i ON i.id = p.item_id"
            " WHERE i.tmdb >= 5000"
        ).fetchall()
    )
    assert sorted(new.values()) == sorted(expected["unmatched"].values())
    assert conn.execute("SELECT count(*) FROM ratings WHERE source = 'letterboxd'").fetchone()[
        0
    ] == len(expected["rated"])
    again = lb_cli("import", "--file", str(report))
    assert conn.execute("SELECT count(*) FROM plays").fetchone()[0] == 500, again.stderr


def test_letterboxd_without_a_tmdb_key_says_how_to_get_ids(
    cli: Cli, tmdb: FakeTmdb, tmp_path: Path
) -> None:
    path = tmp_path / "letterboxd.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            "diary.csv",
            csv_text(DIARY, [["2024-01-01", "Heat", 1995, "x", "", "", "", "2024-01-01"]]),
        )

    result = cli("import", "--file", str(path))

    assert result.returncode == 2
    assert "SCROBCTL_TMDB__API_KEY" in result.stderr
    assert tmdb.requests == []
