"""Tokens through the real Secret Service (gnome-keyring on a private D-Bus session)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backends import SecretService

from scrobctl.tokens import KeyringStore
from tests.fakes.listenbrainz import FakeListenBrainz
from tests.secret_service import running_secret_service

SCROBCTL = Path(sys.executable).parent / "scrobctl"


def archive_id(data_dir: Path) -> str:
    """The id that scopes this data folder's keyring entries."""
    conn = sqlite3.connect(data_dir / "scrobctl.db")
    try:
        return conn.execute("SELECT value FROM meta WHERE key = 'archive_id'").fetchone()[0]
    finally:
        conn.close()


@pytest.fixture(scope="module")
def secret_service_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """One gnome-keyring for the module: starting one per test races its collection set-up."""
    with running_secret_service(tmp_path_factory.mktemp("keyring-home")) as env:
        yield env


@pytest.fixture
def secret_service(
    secret_service_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    previous = keyring.get_keyring()
    for key, value in secret_service_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND")
    keyring.set_keyring(SecretService.Keyring())
    try:
        yield secret_service_env
    finally:
        keyring.set_keyring(previous)


def test_keyring_store_round_trips_a_token_through_secret_service(secret_service: dict) -> None:
    store = KeyringStore()
    store.set("roundtrip", "listenbrainz", {"token": "abc-123"})
    assert store.get("roundtrip", "listenbrainz") == {"token": "abc-123"}


def test_keyring_store_deletes_a_token_from_secret_service(secret_service: dict) -> None:
    store = KeyringStore()
    store.set("deleted", "listenbrainz", {"token": "abc-123"})
    store.delete("deleted", "listenbrainz")
    assert store.get("deleted", "listenbrainz") is None


def test_keyring_store_keeps_profiles_apart(secret_service: dict) -> None:
    store = KeyringStore()
    store.set("default", "trakt", {"access_token": "one"})
    store.set("work", "trakt", {"access_token": "two"})
    assert store.get("work", "trakt") == {"access_token": "two"}
    assert store.get("default", "trakt") == {"access_token": "one"}


def test_login_and_flush_use_secret_service_end_to_end(
    secret_service: dict, data_dir: Path
) -> None:
    with FakeListenBrainz() as fake:
        env = {
            **os.environ,
            "SCROBCTL_TOKEN_STORE": "keyring",
            "SCROBCTL_LISTENBRAINZ__API_URL": fake.url,
        }
        env.pop("PYTHON_KEYRING_BACKEND", None)

        def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [str(SCROBCTL), *args],
                input=stdin,
                capture_output=True,
                text=True,
                env=env,
                timeout=60,
            )

        login = run("login", "listenbrainz", "--token-stdin", stdin="good-token\n")
        assert login.returncode == 0, login.stderr
        event = (
            '{"type": "track", "title": "Hurt", "artist": "Johnny Cash",'
            ' "duration_ms": 218000, "watched_ms": 150000}\n'
        )
        assert run("scrobble", stdin=event).returncode == 0
        flushed = run("flush")
        assert flushed.returncode == 0, flushed.stderr
        assert len(fake.received()) == 1
    assert KeyringStore(archive_id(data_dir)).get("default", "listenbrainz") == {
        "token": "good-token"
    }
    assert not (data_dir / "tokens.json").exists()
    assert b"good-token" not in (data_dir / "scrobctl.db").read_bytes()
