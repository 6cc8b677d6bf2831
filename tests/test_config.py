"""Settings (DESIGN.md "Configuration contract") and the fast data-folder lookup in paths."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import HttpUrl

from scrobctl import paths
from scrobctl.config import Settings, checked, load_settings, validated
from scrobctl.errors import ConfigError

DESIGN_URLS = [
    ("trakt", "api_url", "https://api.trakt.tv"),
    ("trakt", "auth_url", "https://auth.trakt.tv"),
    ("simkl", "api_url", "https://api.simkl.com"),
    ("lastfm", "api_url", "https://ws.audioscrobbler.com/2.0/"),
    ("lastfm", "auth_url", "https://www.last.fm/api/auth/"),
    ("listenbrainz", "api_url", "https://api.listenbrainz.org"),
    ("tmdb", "api_url", "https://api.themoviedb.org"),
]


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """The path SCROBCTL_CONFIG points at (set by the autouse isolated_env fixture)."""
    return tmp_path / "config.toml"


@pytest.mark.parametrize(("service", "field", "url"), DESIGN_URLS)
def test_config_default_api_urls(service: str, field: str, url: str) -> None:
    assert getattr(getattr(Settings(), service), field) == str(HttpUrl(url))


def test_config_default_token_store_is_keyring() -> None:
    assert Settings().token_store == "keyring"


def test_config_file_beats_default(config_file: Path) -> None:
    config_file.write_text('token_store = "file"\n')
    assert Settings().token_store == "file"


def test_config_env_beats_file(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config_file.write_text('token_store = "file"\n')
    monkeypatch.setenv("SCROBCTL_TOKEN_STORE", "keyring")
    assert Settings().token_store == "keyring"


def test_config_nested_env_sets_listenbrainz_api_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCROBCTL_LISTENBRAINZ__API_URL", "https://lb.example.org")
    assert Settings().listenbrainz.api_url == str(HttpUrl("https://lb.example.org"))


def test_config_nested_env_sets_trakt_client_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCROBCTL_TRAKT__CLIENT_ID", "my-app")
    assert Settings().trakt.client_id == "my-app"


def test_config_nested_env_and_file_merge_per_field(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_file.write_text('[trakt]\nclient_id = "from-file"\nclient_secret = "file-secret"\n')
    monkeypatch.setenv("SCROBCTL_TRAKT__CLIENT_ID", "from-env")
    trakt = Settings().trakt
    assert (trakt.client_id, trakt.client_secret) == ("from-env", "file-secret")


def test_config_invalid_value_raises_config_error_naming_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SCROBCTL_TOKEN_STORE", "vault")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "token_store" in info.value.message
    assert "SCROBCTL_TOKEN_STORE" in str(info.value)


def test_config_invalid_nested_value_names_env_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCROBCTL_LISTENBRAINZ__API_URL", "not a url")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "listenbrainz.api_url" in info.value.message
    assert "SCROBCTL_LISTENBRAINZ__API_URL" in str(info.value)


def test_config_unreadable_file_raises_config_error(config_file: Path) -> None:
    config_file.write_text("token_store = \n")
    with pytest.raises(ConfigError, match=r"config\.toml"):
        load_settings()


def test_paths_data_dir_matches_settings_from_env(isolated_env: Path) -> None:
    assert paths.data_dir() == Settings().data_dir == isolated_env


def test_paths_data_dir_matches_settings_from_file(
    config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SCROBCTL_DATA_DIR")
    config_file.write_text(f'data_dir = "{tmp_path / "from-file"}"\n')
    assert paths.data_dir() == Settings().data_dir == tmp_path / "from-file"


def test_paths_data_dir_matches_settings_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SCROBCTL_DATA_DIR")
    assert paths.data_dir() == Settings().data_dir == tmp_path / "xdg-data" / "scrobctl"


def test_paths_data_dir_matches_settings_with_home_relative_file_path(
    config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SCROBCTL_DATA_DIR")
    monkeypatch.setenv("HOME", str(tmp_path))
    config_file.write_text('data_dir = "~/scrobbles"\n')
    assert paths.data_dir() == Settings().data_dir == tmp_path / "scrobbles"


PLAIN_VALUES = [
    {},
    {"token_store": "file", "data_dir": "~/music", "request_deadline": 30},
    {"request_deadline": "12.5", "lastfm": {"podcasts": "true", "love_threshold": "7"}},
    {"listenbrainz": {"api_url": "http://127.0.0.1:8080", "hate_threshold": 2}},
    {"trakt": {"api_url": "https://staging.example.org/trakt/v2/", "client_id": "app"}},
    {"profiles": {"work": {"routes": {"track": ["lastfm", "maloja"]}}}},
    {"targets": {"maloja": {"client_id": "m"}}, "notify": {"url": "ntfy://host/topic"}},
]
CONVERTED_VALUES = [
    {"listenbrainz": {"api_url": "HTTP://LB.Example.org:80/a/../b"}},
    {"simkl": {"api_url": "http://1234/"}},
    {"lastfm": {"podcasts": "yes", "love_threshold": "1e1"}},
]


@pytest.mark.parametrize("values", PLAIN_VALUES + CONVERTED_VALUES)
def test_settings_read_plainly_are_what_the_pydantic_model_makes_of_them(
    values: dict[str, object],
) -> None:
    """The plain read (issue #25: no pydantic on the everyday path) vouches only for values it
    reads exactly as the model would; the rest goes to the model."""
    assert repr(checked(values)) == repr(validated(values))  # values and their types


def test_settings_urls_are_written_as_pydantic_writes_them() -> None:
    trakt = checked(
        {"trakt": {"api_url": "HTTPS://Api.Example.org:443", "auth_url": "http://a:80"}}
    )
    assert (trakt.trakt.api_url, trakt.trakt.auth_url) == ("https://api.example.org/", "http://a/")
