"""`scrobctl config show|path|edit|set`: where each setting comes from, credentials never shown,
and a settings file changed only into a valid one, its comments kept."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scrobctl.cli import app
from tests.helpers import json_data, run_main

SECRET = "s3cret-trakt-app-4f1c"
FILE = """# my settings
token_store = "file"  # no keyring on this box

[trakt]
# the app I made on trakt.tv
client_id = "my-trakt-app"
client_secret = "s3cret-trakt-app-4f1c"
"""


@pytest.fixture
def config(isolated_env: Path) -> Path:
    path = isolated_env.parent / "config.toml"
    path.write_text(FILE, encoding="utf-8")
    return path


def settings(runner: CliRunner) -> dict[str, dict[str, object]]:
    result = runner.invoke(app, ["config", "show", "--json"])
    assert result.exit_code == 0, result.output
    return {s["key"]: s for s in json_data(result.stdout)["settings"]}


def editor(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, content: str) -> None:
    """An $EDITOR that replaces the file it is given with `content`."""
    new = tmp_path / "edited.toml"
    new.write_text(content, encoding="utf-8")
    script = f"import shutil, sys; shutil.copy({str(new)!r}, sys.argv[1])"
    monkeypatch.setenv("EDITOR", f"{shlex.quote(sys.executable)} -c {shlex.quote(script)}")
    monkeypatch.delenv("VISUAL", raising=False)


def test_config_show_says_where_each_setting_came_from(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCROBCTL_LASTFM__PODCASTS", "true")

    shown = settings(CliRunner())

    assert (shown["token_store"]["value"], shown["token_store"]["source"]) == ("file", "file")
    assert (shown["lastfm.podcasts"]["value"], shown["lastfm.podcasts"]["source"]) == (
        True,
        "environment",
    )
    assert shown["lastfm.podcasts"]["env"] == "SCROBCTL_LASTFM__PODCASTS"
    assert shown["simkl.api_url"]["source"] == "default"


def test_config_show_never_shows_credentials(config: Path) -> None:
    runner = CliRunner()

    table = runner.invoke(app, ["config", "show"])
    shown = settings(runner)

    assert table.exit_code == 0
    assert SECRET not in table.output and "my-trakt-app" not in table.output
    assert shown["trakt.client_secret"]["value"] is None
    assert shown["trakt.client_secret"]["is_set"] is True
    assert SECRET not in json.dumps(shown)


def test_config_set_writes_the_value_and_keeps_comments_and_layout(config: Path) -> None:
    result = CliRunner().invoke(app, ["config", "set", "lastfm.love_threshold", "7.5"])

    assert result.exit_code == 0, result.output
    text = config.read_text(encoding="utf-8")
    assert text.startswith(FILE)  # every comment and line as it was
    assert "[lastfm]\nlove_threshold = 7.5\n" in text
    assert settings(CliRunner())["lastfm.love_threshold"]["value"] == 7.5


def test_config_set_of_a_credential_does_not_echo_it(config: Path) -> None:
    result = CliRunner().invoke(app, ["config", "set", "tmdb.api_key", "tmdb-key-9a8b"])

    assert result.exit_code == 0, result.output
    assert "tmdb-key-9a8b" not in result.output
    assert 'api_key = "tmdb-key-9a8b"' in config.read_text(encoding="utf-8")


def test_config_set_refuses_an_invalid_value_and_leaves_the_file_as_it_was(
    config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_main(monkeypatch, capsys, "config", "set", "lastfm.love_threshold", "11")

    assert code == 2
    assert "love_threshold" in out + err
    assert config.read_text(encoding="utf-8") == FILE


def test_config_set_of_an_unknown_setting_names_the_known_ones(
    config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_main(monkeypatch, capsys, "config", "set", "trakt.cliend_id", "x")

    assert code == 2
    assert "no setting 'trakt.cliend_id'" in out + err
    assert "trakt.client_id" in out + err


def test_config_set_a_profiles_routes(config: Path) -> None:
    key = "profiles.default.routes.track"
    result = CliRunner().invoke(app, ["config", "set", key, '["listenbrainz"]'])

    assert result.exit_code == 0, result.output
    shown = settings(CliRunner())["profiles"]["value"]
    assert shown == {"default": {"routes": {"track": ["listenbrainz"]}}}


def test_config_edit_keeps_a_valid_edit(
    config: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    editor(monkeypatch, tmp_path, FILE + "\n[listenbrainz]\npodcasts = true\n")

    result = CliRunner().invoke(app, ["config", "edit"])

    assert result.exit_code == 0, result.output
    assert config.read_text(encoding="utf-8").endswith("[listenbrainz]\npodcasts = true\n")


@pytest.mark.parametrize("bad", ["token_store = 'vault'\n", "[trakt\nclient_id = 1\n"])
def test_config_edit_keeps_the_old_file_when_the_edit_is_not_valid(
    config: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    bad: str,
) -> None:
    editor(monkeypatch, tmp_path, bad)

    code, out, err = run_main(monkeypatch, capsys, "config", "edit")

    assert code == 2
    assert "left as it was" in out + err
    assert config.read_text(encoding="utf-8") == FILE
    assert [p.name for p in config.parent.glob(".config-*")] == []


def test_config_path_prints_the_settings_file(config: Path) -> None:
    result = CliRunner().invoke(app, ["config", "path"])

    assert result.exit_code == 0
    assert result.stdout.strip() == str(config)


def test_config_set_a_named_targets_own_app_and_show_hides_it(config: Path) -> None:
    """`targets.NAME` holds a target's own API app (issue 19): settable, never shown."""
    runner = CliRunner()
    for key, value in (("client_id", "staging-app-id-77"), ("client_secret", "staging-sec-88")):
        result = runner.invoke(app, ["config", "set", f"targets.trakt-staging.{key}", value])
        assert result.exit_code == 0, result.output
        assert value not in result.output

    table = runner.invoke(app, ["config", "show"])
    shown = settings(runner)["targets"]

    assert '[targets.trakt-staging]\nclient_id = "staging-app-id-77"' in config.read_text(
        encoding="utf-8"
    )
    assert (shown["value"], shown["secret"], shown["is_set"]) == (None, True, True)
    assert "staging-sec-88" not in table.output + json.dumps(shown)
    assert "staging-app-id-77" not in table.output
