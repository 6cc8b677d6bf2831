"""The installed scrobctl against a real Maloja 3.2.3 (issue #19): named targets on both of its
compatible APIs, one play a request, the same-second refusal, import refusal, and a lost session.

Every check of what arrived reads Maloja's own database (tests/e2e/maloja.py), not scrobctl's.
"""

from __future__ import annotations

import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import GOOD_TOKEN, TIMEOUT, Cli, jsonl, status_json
from tests.e2e.maloja import API_KEY, Maloja, install
from tests.fakes.listenbrainz import FakeListenBrainz
from tests.helpers import json_data


@pytest.fixture(scope="session")
def maloja(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Maloja]:
    server = Maloja(install(), tmp_path_factory.mktemp("maloja-data"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def artist() -> str:
    """An artist of the test's own, so tests sharing the server never count each other's."""
    return f"Maloja Tester {secrets.token_hex(4)}"


def window() -> int:
    """A start second of the test's own: Maloja keys every scrobble by its second, whoever sent
    it, so two tests' plays must never share one."""
    return int(time.time()) - 20 * 86_400 - secrets.randbelow(400) * 3_600


def plays(name: str, start: int, count: int, first: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "type": "track",
            "title": f"Song {i:03d}",
            "artist": name,
            "album": "Self-hosted",
            "duration_ms": 200_000,
            "watched_ms": 150_000,
            "watched_at": start + i * 300,
        }
        for i in range(first, first + count)
    ]


def login_maloja_lb(cli: Cli, maloja: Maloja, name: str = "maloja") -> None:
    result = cli(
        "login",
        "listenbrainz",
        "--name",
        name,
        "--url",
        maloja.listenbrainz_url,
        "--token-stdin",
        input=API_KEY + "\n",
    )
    assert result.returncode == 0, result.stderr
    assert "Maloja" in result.stderr  # what it lacks is said once, here


def other_data_folder(cli_env: dict[str, str], scrobctl_bin: Path, tmp_path: Path) -> Cli:
    env = {**cli_env, "SCROBCTL_DATA_DIR": str(tmp_path / "second-machine")}

    def run(
        *args: str, input: str | None = None, timeout: float = TIMEOUT
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(scrobctl_bin), *args],
            input=input or "",
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            check=False,
        )

    return run


def jobs(cli: Cli, target: str) -> list[dict[str, Any]]:
    result = cli("queue", "list", "--service", target, "--all", "--json", "--limit", "1000")
    assert result.returncode == 0, result.stderr
    return json_data(result.stdout)["jobs"]


def test_maloja_target_stores_every_sent_play_once_and_reports_the_same_second_one(
    cli: Cli, maloja: Maloja, cli_env: dict[str, str], scrobctl_bin: Path, tmp_path: Path
) -> None:
    name, start = artist(), window()
    events = plays(name, start, 40)
    events[21]["watched_at"] = events[20]["watched_at"]  # two plays in the same second
    login_maloja_lb(cli, maloja)

    for _ in range(3):
        assert cli("scrobble", input=jsonl(events)).returncode == 0
        cli("flush")

    stored = maloja.scrobbles(name)
    assert len(stored) == 39
    assert len({s.title for s in stored}) == 39, "a play is stored twice"
    listed = jobs(cli, "maloja")
    sent = [j for j in listed if j["state"] == "completed"]
    assert {j["item"] for j in sent} == {f"{name} - {s.title}" for s in stored}
    [refused] = [j for j in listed if j["state"] == "rejected"]
    assert refused["item"] in {f"{name} - Song 020", f"{name} - Song 021"}
    assert "one scrobble a second" in refused["outcome"]
    at = {s.title: s.timestamp for s in stored}
    assert all(at[e["title"]] == e["watched_at"] for e in events if e["title"] in at)

    # A second machine sends 10 of those plays with 10 new ones: Maloja would stop a batch at
    # the first it has, so each goes alone and every new one arrives.
    second = other_data_folder(cli_env, scrobctl_bin, tmp_path)
    login_maloja_lb(second, maloja)
    overlap = [e for e in events if e["title"] not in ("Song 020", "Song 021")][:10]
    assert second("scrobble", input=jsonl(overlap + plays(name, start, 10, 40))).returncode == 0
    result = second("flush")

    assert result.returncode == 0, result.stderr
    stored = maloja.scrobbles(name)
    assert len(stored) == 49
    assert len({s.title for s in stored}) == 49
    second_jobs = jobs(second, "maloja")
    assert all(j["state"] == "completed" for j in second_jobs)
    assert {j["item"] for j in second_jobs} <= {f"{name} - {s.title}" for s in stored}


def test_maloja_same_second_play_exits_1_naming_the_reason(cli: Cli, maloja: Maloja) -> None:
    name, start = artist(), window()
    events = plays(name, start, 2)
    events[1]["watched_at"] = events[0]["watched_at"]
    login_maloja_lb(cli, maloja)
    cli("scrobble", input=jsonl(events))

    result = cli("flush")

    assert result.returncode == 1
    assert "maloja: 1 sent" in result.stderr
    assert "one scrobble a second" in result.stderr
    assert len(maloja.scrobbles(name)) == 1


def test_maloja_import_fails_naming_the_missing_history_endpoint(cli: Cli, maloja: Maloja) -> None:
    login_maloja_lb(cli, maloja)

    result = cli("import", "maloja")

    assert result.returncode == 1
    assert "/1/user/{name}/listens" in result.stderr
    assert "export" in result.stderr


def test_maloja_and_a_listenbrainz_fake_as_two_targets_each_get_every_play(
    cli: Cli, maloja: Maloja, fake_lb: FakeListenBrainz
) -> None:
    name, start = artist(), window()
    assert cli("login", "listenbrainz", "--token-stdin", input=GOOD_TOKEN + "\n").returncode == 0
    login_maloja_lb(cli, maloja)
    cli("scrobble", input=jsonl(plays(name, start, 5)))

    result = cli("flush")

    assert result.returncode == 0, result.stderr
    assert len(maloja.scrobbles(name)) == 5
    at_fake = [lst for lst in fake_lb.accepted if lst["track_metadata"]["artist_name"] == name]
    assert len(at_fake) == 5
    kinds = {c["service"]: (c["kind"], c["server"]) for c in status_json(cli)["connections"]}
    # What each server is was found at login and is remembered with the connection.
    assert kinds == {"listenbrainz": ("listenbrainz", None), "maloja": ("listenbrainz", "maloja")}


def login_maloja_as(cli: Cli, maloja: Maloja, name: str = "maloja-as") -> None:
    result = cli(
        "login",
        "lastfm",
        "--name",
        name,
        "--url",
        maloja.audioscrobbler_url,
        "--user",
        "me",
        "--password",
        input=API_KEY + "\n",
    )
    assert result.returncode == 0, result.stderr


def test_maloja_audioscrobbler_target_sends_single_scrobbles_once(
    cli: Cli, maloja: Maloja, cli_env: dict[str, str], scrobctl_bin: Path, tmp_path: Path
) -> None:
    name, start = artist(), window()
    events = plays(name, start, 6)
    events[5]["watched_at"] = events[4]["watched_at"]
    login_maloja_as(cli, maloja)
    cli("scrobble", input=jsonl(events))
    first = cli("flush")
    # The same plays again from another machine: Maloja answers a resend with error 8 too.
    second = other_data_folder(cli_env, scrobctl_bin, tmp_path)
    login_maloja_as(second, maloja)
    second("scrobble", input=jsonl(events))

    again = second("flush")

    assert first.returncode == 1 and "one scrobble a second" in first.stderr
    assert again.returncode == 1 and "maloja-as: 5 sent" in again.stderr
    stored = maloja.scrobbles(name)
    assert [s.title for s in stored] == [f"Song {i:03d}" for i in range(5)]
    assert [s.timestamp for s in stored] == [e["watched_at"] for e in events[:5]]
    states = sorted(j["state"] for j in jobs(second, "maloja-as"))
    assert states == ["completed"] * 5 + ["rejected"]
    imported = cli("import", "maloja-as")  # no user.getRecentTracks there either
    assert imported.returncode == 1, imported.stderr
    assert "user.getRecentTracks" in imported.stderr


def test_maloja_audioscrobbler_session_lost_on_restart_is_reconnect_required(
    cli: Cli, tmp_path: Path
) -> None:
    own = Maloja(install(), tmp_path / "own-maloja")
    own.start()
    try:
        name, start = artist(), window()
        login_maloja_as(cli, own)
        own.restart()  # sessions live in memory (audioscrobbler.py l.17-18)
        cli("scrobble", input=jsonl(plays(name, start, 2)))

        result = cli("flush")

        assert result.returncode == 3
        assert "scrobctl login lastfm --name maloja-as" in result.stderr
        assert own.scrobbles(name) == []
        assert {j["state"] for j in jobs(cli, "maloja-as")} == {"available"}
        login_maloja_as(cli, own)
        assert cli("flush").returncode == 0
        assert len(own.scrobbles(name)) == 2
    finally:
        own.stop()


def test_maloja_gets_no_now_playing_and_no_ratings(cli: Cli, maloja: Maloja) -> None:
    name = artist()
    login_maloja_lb(cli, maloja)
    start = {"type": "track", "event": "start", "title": "Now", "artist": name}

    playing = cli("scrobble", input=jsonl([start]))
    exported = cli("export", "ratings", "--to", "maloja")

    assert playing.returncode == 0, playing.stderr
    assert "maloja" not in playing.stderr  # skipped without a word: login said so once
    assert exported.returncode == 2
    assert "takes no ratings" in exported.stderr
    assert maloja.scrobbles(name) == []
