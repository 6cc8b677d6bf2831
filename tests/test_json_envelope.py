"""Every --json answer, data or error, is the one envelope README "JSON output" documents:
`{"data": ..., "exit_code": n}` or `{"error": {"message", "hint", "exit_code"}}`. Through the
installed entry point, so errors pass main()'s one handler as they do for a script."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.listenbrainz import FakeListenBrainz
from tests.helpers import json_envelope, json_error, run_scrobctl

EVENT = (
    '{"type": "track", "title": "Hurt", "artist": "Johnny Cash",'
    ' "duration_ms": 218000, "watched_ms": 150000, "watched_at": "2026-11-23T20:15:00Z"}\n'
)
STATUS = {"version", "data_dir", "database", "token_store", "connections", "queue", "plays"}
SCROBBLE = {
    *("dry_run", "queued", "recorded_only", "below_threshold", "duplicate", "not_a_play"),
    *("rated", "invalid", "jobs", "warnings", "now_playing"),
}
STATS = {
    *("plays", "by_kind", "listening_ms", "watching_ms", "weeks", "artists", "tracks"),
    *("albums", "shows", "movies", "targets"),
}
IMPORT = {
    *("service", "profile", "resumed", "processed", "matched_by_id", "matched_by_title"),
    *("failed", "report", "failed_step", "total", "plays", "ratings"),
}
EXPORT = {
    *("service", "dry_run", "queued", "already_there", "queued_before", "not_exportable"),
    "items",
}
EXPLAIN = {"item", "match", "play", "candidates", "targets", "plays"}
SYNC = {
    *("target", "source", "profile", "dry_run", "imported", "weighed", "queued"),
    *("already_there", "queued_before", "too_old", "too_old_days", "wrong_type"),
    *("weak_matches_report", "notes"),
}

# (argv, stdin, the data's keys, the exit code) for every command that takes --json.
COMMANDS = [
    (("status", "--json"), "", {*STATUS, "lacking", "imports"}, 0),
    (("history", "--json"), "", {"plays"}, 0),
    (("queue", "list", "--json"), "", {"jobs", "left_out"}, 0),
    (("explain", "1", "--json"), "", EXPLAIN, 0),
    (("explain", "-", "--json"), EVENT, {"explanations"}, 0),
    (("stats", "--json"), "", STATS, 0),
    (("doctor", "--json"), "", {"checks"}, 0),
    (("config", "show", "--json"), "", {"settings"}, 0),
    (("scrobble", "--json"), EVENT, SCROBBLE, 0),
    (("scrobble", "--json"), EVENT + "not json\n", SCROBBLE, 1),
    (("flush", "--json"), "", {"dry_run", "services"}, 0),
    (("flush", "--dry-run", "--json"), "", {"dry_run", "services"}, 0),
    (("import", "listenbrainz", "--json"), "", IMPORT, 0),
    (("export", "ratings", "--to", "listenbrainz", "--json"), "", EXPORT, 0),
    (("sync", "--to", "listenbrainz", "--json"), "", SYNC, 0),
    (("sync", "--to", "listenbrainz", "--dry-run", "--json"), "", {*SYNC, "plays"}, 0),
    (("unscrobble", "1", "--dry-run", "--json"), "", {"dry_run", "plays"}, 0),
    (("serve", "token", "list", "--json"), "", {"tokens"}, 0),
]


@pytest.fixture
def archive() -> dict[str, str]:
    """One play in the archive and a ListenBrainz login, so every command has something to say."""
    with FakeListenBrainz() as fake:
        env = {"SCROBCTL_LISTENBRAINZ__API_URL": fake.url}
        login = run_scrobctl("login", "listenbrainz", "--token-stdin", stdin="good-token\n", **env)
        assert login.returncode == 0, login.stderr
        scrobbled = run_scrobctl("scrobble", stdin=EVENT, **env)
        assert scrobbled.returncode == 0, scrobbled.stderr
        yield env  # type: ignore[misc]


def command_id(value: object) -> str | None:
    return " ".join(value) if isinstance(value, tuple) else None


@pytest.mark.parametrize(("args", "stdin", "keys", "code"), COMMANDS, ids=command_id)
def test_json_answer_is_the_data_envelope(
    archive: dict[str, str], args: tuple[str, ...], stdin: str, keys: set[str], code: int
) -> None:
    result = run_scrobctl(*args, stdin=stdin, **archive)

    assert result.returncode == code, result.stdout + result.stderr
    envelope = json_envelope(result.stdout)
    assert envelope["exit_code"] == code
    assert set(envelope["data"]) == keys


def test_every_command_with_json_is_in_the_envelope_test() -> None:
    """A new --json command is tested here too: the list above covers every one."""
    from tests.helpers import command_paths, lookup

    with_json = {
        " ".join(path)
        for path in command_paths()
        if any("--json" in getattr(p, "opts", []) for p in getattr(lookup(path), "params", []))
    }
    tested = {
        " ".join(
            a for a in args if not a.startswith("-") and not a.isdigit() and a != "listenbrainz"
        )
        for args, *_ in COMMANDS
    }

    assert with_json <= tested


def test_error_in_json_mode_carries_message_hint_and_exit_code_apart() -> None:
    result = run_scrobctl("history", "--since", "someday", "--json")

    assert result.returncode == 2
    error = json_error(result.stdout)
    assert error["exit_code"] == 2
    assert "someday" in error["message"]
    assert error["hint"] and error["hint"] not in error["message"]
    assert result.stderr == ""


def test_error_without_a_hint_has_a_null_hint_and_the_plain_line_is_unchanged(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "missing.jsonl"

    as_json = run_scrobctl("scrobble", "--file", str(missing), "--json")
    plain = run_scrobctl("scrobble", "--file", str(missing))

    error = json_error(as_json.stdout)
    assert (as_json.returncode, error["exit_code"], error["hint"]) == (2, 2, None)
    assert plain.returncode == 2
    assert plain.stderr == f"error: {error['message']}\n"
    assert plain.stdout == ""


def test_plain_error_line_still_joins_message_and_hint() -> None:
    as_json = run_scrobctl("history", "--since", "someday", "--json")
    plain = run_scrobctl("history", "--since", "someday")

    error = json_error(as_json.stdout)
    assert plain.stderr == f"error: {error['message']}; {error['hint']}\n"


def test_usage_error_with_json_is_the_error_envelope_too() -> None:
    result = run_scrobctl("history", "--limit", "many", "--json")

    assert result.returncode == 2
    error = json_error(result.stdout)
    assert error["exit_code"] == 2
    assert "--limit" in error["message"]
    assert error["hint"] == "see `scrobctl history --help`"
    assert result.stderr == ""


def test_usage_error_without_json_is_still_typer_usage_text() -> None:
    result = run_scrobctl("history", "--limit", "many")

    assert result.returncode == 2
    assert result.stdout == ""
    assert "Usage: scrobctl history" in result.stderr
