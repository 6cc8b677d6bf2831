"""End to end: the messages of issue 17 item 8, as the installed scrobctl prints them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Cli, jsonl, track_events
from tests.fakes.listenbrainz import FakeListenBrainz
from tests.helpers import json_data


def test_a_misspelt_service_gets_did_you_mean(cli: Cli) -> None:
    typo = cli("login", "trackt")
    dotted = cli("import", "last.fm")

    assert typo.returncode == dotted.returncode == 2
    assert "Did you mean 'trakt'?" in typo.stderr
    assert "Did you mean 'lastfm'?" in dotted.stderr


def test_config_errors_name_the_file_every_key_and_problem(
    cli: Cli, cli_env: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('token_store = "vault"\n[lastfm]\nlove_threshold = 11\n')
    cli_env["SCROBCTL_CONFIG"] = str(config)
    cli_env.pop("SCROBCTL_TOKEN_STORE")

    result = cli("status")

    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert str(config) in line
    assert "'token_store'" in line and "'lastfm.love_threshold'" in line
    assert "2 invalid settings" in line


def test_doctor_reports_a_scrobctl_config_that_does_not_exist(
    cli: Cli, cli_env: dict[str, str], tmp_path: Path
) -> None:
    cli_env["SCROBCTL_CONFIG"] = str(tmp_path / "typo.toml")

    result = cli("doctor", "--json")

    [check] = [c for c in json_data(result.stdout)["checks"] if c["name"] == "configuration file"]
    assert check["status"] == "warn" and "typo.toml" in check["detail"]


def test_help_has_no_type_noise_and_no_split_words(cli: Cli, cli_env: dict[str, str]) -> None:
    cli_env["COLUMNS"] = "80"

    texts = [cli(*args, "--help").stdout for args in (("login",), ("status",), ("queue", "list"))]

    for text in texts:
        assert "<bool>" not in text
        assert "listenb\n" not in text and not re.search(r"listenb\s+rainz", text)
    assert "every connection is tried online" in " ".join(texts[1].split())


def test_an_empty_filter_says_no_plays_match(cli: Cli, logged_in: Any) -> None:
    assert cli("scrobble", input=jsonl(track_events(1))).returncode == 0

    result = cli("history", "--type", "movie")

    assert "no plays match these filters" in result.stderr


def test_quiet_flush_is_silent_when_another_flush_holds_the_lock(
    cli: Cli, logged_in: Any, fake_lb: FakeListenBrainz, isolated_env: Path
) -> None:
    import fcntl

    assert cli("scrobble", input=jsonl(track_events(1))).returncode == 0
    with (isolated_env / "flush.lock").open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        quiet = cli("flush", "-q")
        loud = cli("flush")

    assert (quiet.returncode, quiet.stderr) == (4, "")
    assert loud.returncode == 4 and loud.stderr


def test_flush_summary_says_1_request(cli: Cli, logged_in: Any) -> None:
    assert cli("scrobble", input=jsonl(track_events(1))).returncode == 0

    result = cli("flush")

    assert "listenbrainz: 1 sent in 1 request" in result.stderr.splitlines()


def test_a_misspelt_command_gets_did_you_mean(cli: Cli) -> None:
    typo = cli("imprt", "trakt")
    swapped = cli("stauts")

    assert typo.returncode == swapped.returncode == 2
    assert "No such command 'imprt'. Did you mean 'import'?" in typo.stderr
    assert "Did you mean" in swapped.stderr and "'status'" in swapped.stderr


def test_every_command_warns_of_a_scrobctl_config_that_does_not_exist(
    cli: Cli, cli_env: dict[str, str], tmp_path: Path
) -> None:
    cli_env["SCROBCTL_CONFIG"] = str(tmp_path / "typo.toml")

    status = cli("status")
    flush = cli("flush", "-q")  # an empty queue, from cron: the fast path must not hide it

    for result in (status, flush):
        assert result.returncode == 0, result.stderr
        assert f"warning: SCROBCTL_CONFIG names {tmp_path / 'typo.toml'}, which does not exist" in (
            result.stderr
        )
    (tmp_path / "typo.toml").write_text("")
    assert "SCROBCTL_CONFIG" not in cli("flush", "-q").stderr
