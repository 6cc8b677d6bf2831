"""Secrets never leave the token store (DESIGN.md "What a user sees"; STYLE.md practice 8).

One scenario touches every credential scrobctl handles: logins to all four fakes (a ListenBrainz
user token, Trakt's client secret, device code and two rotating token pairs, a Simkl token,
Last.fm's API secret and session key, each a unique marker), then scrobble, `flush -v` (the
request log), status, queue list and history as JSON, doctor, and two imports (one of which
writes a failure report). Every byte it leaves behind is then searched for every marker: the
database with its -wal/-shm, the config file, the reports folder, every other file in the data
folder but tokens.json, the repository's cassettes, and all captured output. Also the data
folder is 0700 and the database and tokens.json are 0600.
"""

from __future__ import annotations

import secrets
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import TIMEOUT, Cli, fake_service_env, jsonl, status_json
from tests.fakes.lastfm import FakeLastfm
from tests.fakes.listenbrainz import FakeListenBrainz
from tests.fakes.server import Reply, Request
from tests.fakes.simkl import FakeSimkl
from tests.fakes.trakt import FakeTrakt, iso

DAY = 86_400
CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"
LB_TOKEN = f"lb-user-token-{secrets.token_hex(12)}"
TRAKT_SECRET = f"trakt-client-secret-{secrets.token_hex(12)}"
LASTFM_SECRET = f"lastfm-api-secret-{secrets.token_hex(12)}"


class TraktWithRatings(FakeTrakt):
    """The Trakt fake, plus the (empty) ratings lists an import reads after the history."""

    def handle(self, request: Request) -> Reply:
        if request.method == "GET" and request.path.startswith("/sync/ratings/"):
            return Reply(200, [])
        return super().handle(request)


@pytest.fixture
def fake_lb() -> Iterator[FakeListenBrainz]:
    """Replaces conftest's: the user token is a marker, and there is a history to import."""
    fake = FakeListenBrainz(tokens={LB_TOKEN: "rob"})
    fake.history_size = 40
    fake.history_start = int(time.time()) - 30 * DAY
    with fake:
        yield fake


@pytest.fixture
def fake_trakt() -> Iterator[TraktWithRatings]:
    fake = TraktWithRatings(
        client_id=f"trakt-client-id-{secrets.token_hex(6)}",
        client_secret=TRAKT_SECRET,
        poll_statuses=[200],
        interval=1,
    )
    with fake:
        yield fake


@pytest.fixture
def fake_simkl() -> Iterator[FakeSimkl]:
    fake = FakeSimkl(client_id=f"simkl-client-id-{secrets.token_hex(6)}", pending_polls=0)
    with fake:
        yield fake


@pytest.fixture
def fake_lastfm() -> Iterator[FakeLastfm]:
    fake = FakeLastfm(
        api_key=f"lastfm-api-key-{secrets.token_hex(6)}",
        api_secret=LASTFM_SECRET,
        auto_approve_after=0,
    )
    with fake:
        yield fake


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """A config file as a user keeps one (conftest points SCROBCTL_CONFIG here)."""
    path = tmp_path / "config.toml"
    path.write_text("[lastfm]\npodcasts = false\n\n[listenbrainz]\npodcasts = false\n")
    return path


@pytest.fixture(autouse=True)
def service_env(
    cli_env: dict[str, str],
    config_file: Path,
    fake_trakt: TraktWithRatings,
    fake_simkl: FakeSimkl,
    fake_lastfm: FakeLastfm,
) -> dict[str, str]:
    cli_env.update(fake_service_env(trakt=fake_trakt, simkl=fake_simkl, lastfm=fake_lastfm))
    cli_env["SCROBCTL_CONFIG"] = str(config_file)
    return cli_env


def events(now: int) -> list[dict[str, Any]]:
    tracks = [
        {
            "type": "track",
            "title": f"Secret Song {i}",
            "artist": "The Redactions",
            "duration_ms": 200_000,
            "watched_ms": 150_000,
            "watched_at": now - DAY + i * 600,
        }
        for i in range(3)
    ]
    movies = [
        {
            "type": "movie",
            "title": f"Secret Film {i}",
            "ids": {"tmdb": 880_000 + i},
            "duration_ms": 6_000_000,
            "percentage": 95,
            "watched_at": now - 2 * DAY + i * 9_000,
        }
        for i in range(3)
    ]
    return tracks + movies


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_no_secret_appears_in_any_file_or_output_and_the_private_files_are_private(
    cli: Cli,
    isolated_env: Path,
    config_file: Path,
    fake_lb: FakeListenBrainz,
    fake_trakt: TraktWithRatings,
    fake_simkl: FakeSimkl,
    fake_lastfm: FakeLastfm,
) -> None:
    runs: list[subprocess.CompletedProcess[str]] = []

    def run(*args: str, input: str | None = None, ok: tuple[int, ...] = (0,)) -> None:
        result = cli(*args, input=input, timeout=TIMEOUT)
        runs.append(result)
        assert result.returncode in ok, f"{args}: {result.returncode}\n{result.stderr}"
        assert "Traceback" not in result.stderr, args

    # Logins. Trakt's first token is already expired, so `status --check` rotates the pair.
    run("login", "listenbrainz", "--token-stdin", input=LB_TOKEN + "\n")
    fake_trakt.created_at = int(time.time()) - 30 * DAY
    run("login", "trakt", "--no-browser")
    fake_trakt.created_at = None
    run("login", "simkl", "--no-browser")
    run("login", "lastfm", "--no-browser")
    run("-v", "status", "--check")
    assert fake_trakt.successful_refreshes == 1

    # Scrobble and flush with the request log on.
    now = int(time.time())
    run("scrobble", input=jsonl(events(now)))
    run("-v", "flush")
    logged = [line for line in runs[-1].stderr.splitlines() if line.startswith("http: ")]
    assert len(logged) >= 4, "flush -v logged no requests"
    assert len(fake_lb.accepted) == 3
    assert len(fake_lastfm.accepted) == 3
    assert len(fake_trakt.plays) == 3
    assert len(fake_simkl.plays) == 3

    # Read commands, doctor, and imports (the Trakt one with an entry it cannot use: a report).
    run("status", "--json")
    run("status")
    run("queue", "list", "--json")
    run("history", "--json")
    run("doctor", ok=(0, 1))
    run("doctor", "--json", ok=(0, 1))
    run("config", "show")  # the app credentials are in the settings file: shown as "set"
    run("config", "show", "--json")
    run("stats", "--json")
    run("explain", "1", "--json")
    unusable = {"id": 1, "watched_at": iso(now - 3 * DAY), "action": "watch", "type": "movie"}
    unusable["movie"] = {"title": "No Ids", "ids": {}}
    usable = {"id": 2, "watched_at": iso(now - 4 * DAY), "action": "watch", "type": "movie"}
    usable["movie"] = {"title": "Has Ids", "year": 2000, "ids": {"tmdb": 881_000}}
    page = {"X-Pagination-Page-Count": "1", "X-Pagination-Item-Count": "2"}
    fake_trakt.inject("/sync/history", Reply(200, [unusable, usable], page))
    run("-v", "import", "trakt", ok=(0, 1))
    run("-v", "import", "listenbrainz")
    run("unscrobble", "1")  # its removals go out with the request log on
    run("-v", "flush", ok=(0, 1))
    reports = isolated_env / "reports"
    assert reports.is_dir() and list(reports.iterdir()), "the import wrote no failure report"

    # Every secret the scenario involved, as the fakes handed them out or were given them.
    markers = (
        fake_trakt.known_secrets()
        | set(fake_trakt.codes)  # device codes: sent on every poll, never shown
        | fake_simkl.known_secrets()
        | fake_lastfm.known_secrets()
        | {LB_TOKEN, TRAKT_SECRET, LASTFM_SECRET}
    )
    assert len(fake_trakt.issued) == 2  # both pairs: the first login's and the refreshed one
    assert len(markers) >= 9
    tokens_file = isolated_env / "tokens.json"
    kept = tokens_file.read_text()
    for current in (
        LB_TOKEN,
        fake_trakt.issued[-1]["access_token"],
        fake_trakt.issued[-1]["refresh_token"],
        *fake_simkl.tokens,
        *fake_lastfm.state.sessions,
    ):
        assert current in kept  # the token store really holds them, so the search is meaningful

    database = isolated_env / "scrobctl.db"
    assert database.is_file()
    files = {p for p in isolated_env.rglob("*") if p.is_file() and p != tokens_file}
    files |= {p for p in CASSETTES.rglob("*") if p.is_file()}
    files.add(config_file)
    assert database in files and any(p.parent == reports for p in files)
    leaks = [
        f"{path}: {marker[:12]}..."
        for path in sorted(files)
        for marker in markers
        if marker.encode() in path.read_bytes()
    ]
    leaks += [
        f"output of {' '.join(map(str, run_.args[1:]))}: {marker[:12]}..."
        for run_ in runs
        for marker in markers
        if marker in run_.stdout or marker in run_.stderr
    ]
    assert leaks == [], "secrets leaked:\n" + "\n".join(leaks)

    # Permissions: the folder is private, and so are the files that hold history or tokens.
    assert mode(isolated_env) == 0o700
    assert mode(tokens_file) == 0o600
    for path in isolated_env.glob("scrobctl.db*"):
        assert mode(path) == 0o600, path.name
    assert status_json(cli)["token_store"] == "file"
