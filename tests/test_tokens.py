"""The token store: the OS keyring, or the explicitly chosen 0600 file."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

from scrobctl.errors import TokenStoreUnavailable
from scrobctl.tokens import FileStore, KeyringStore, open_token_store

SECRET = {"token": "s3cr3t-token-value"}


class MemoryKeyring(KeyringBackend):
    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.entries.pop((service, username), None) is None:
            raise PasswordDeleteError(username)


class BrokenKeyring(MemoryKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise RuntimeError(f"D-Bus said no while holding {SECRET['token']}")


@contextmanager
def installed(backend: KeyringBackend) -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        yield
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    backend = MemoryKeyring()
    with installed(backend):
        yield backend


@pytest.fixture
def broken_keyring() -> Iterator[BrokenKeyring]:
    backend = BrokenKeyring()
    with installed(backend):
        yield backend


@pytest.fixture
def warnings() -> list[str]:
    return []


@pytest.fixture
def file_store(data_dir: Path, warnings: list[str]) -> FileStore:
    return FileStore(data_dir / "tokens.json", warnings.append)


# file store


def test_file_store_writes_tokens_file_0600(file_store: FileStore) -> None:
    file_store.set("default", "listenbrainz", SECRET)
    assert stat.S_IMODE(file_store.path.stat().st_mode) == 0o600


def test_file_store_round_trips(file_store: FileStore) -> None:
    file_store.set("default", "listenbrainz", SECRET)
    assert file_store.get("default", "listenbrainz") == SECRET
    assert file_store.get("default", "trakt") is None


def test_file_store_deletes(file_store: FileStore) -> None:
    file_store.set("default", "listenbrainz", SECRET)
    file_store.delete("default", "listenbrainz")
    file_store.delete("default", "listenbrainz")
    assert file_store.get("default", "listenbrainz") is None


def test_file_store_warns_naming_file_but_not_secret(
    file_store: FileStore, warnings: list[str]
) -> None:
    file_store.set("default", "listenbrainz", SECRET)
    (message,) = warnings
    assert str(file_store.path) in message
    assert SECRET["token"] not in message


def test_file_store_corrupt_file_raises_unavailable(file_store: FileStore) -> None:
    file_store.path.parent.mkdir(parents=True)
    file_store.path.write_text("{not json")
    with pytest.raises(TokenStoreUnavailable, match=r"tokens\.json"):
        file_store.get("default", "listenbrainz")


# keyring store


@pytest.fixture
def no_keyring_backend() -> Iterator[None]:
    """The backend keyring picks when nothing usable is installed (as on a headless server)."""
    from keyring.backends import fail

    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


def test_keyring_store_fail_backend_raises_with_both_fixes(no_keyring_backend: None) -> None:
    with pytest.raises(TokenStoreUnavailable) as info:
        KeyringStore()
    assert "Secret Service" in str(info.value)
    assert "SCROBCTL_TOKEN_STORE=file" in str(info.value)


def test_keyring_store_round_trips(memory_keyring: MemoryKeyring) -> None:
    tokens = KeyringStore()
    tokens.set("default", "listenbrainz", SECRET)
    assert tokens.get("default", "listenbrainz") == SECRET
    assert json.loads(memory_keyring.entries[("scrobctl", "default/listenbrainz")]) == SECRET


def test_keyring_store_deletes_and_ignores_missing_entry(memory_keyring: MemoryKeyring) -> None:
    tokens = KeyringStore()
    tokens.set("default", "listenbrainz", SECRET)
    tokens.delete("default", "listenbrainz")
    tokens.delete("default", "listenbrainz")
    assert tokens.get("default", "listenbrainz") is None


def test_keyring_store_backend_error_is_unavailable_without_leaking(
    broken_keyring: BrokenKeyring,
) -> None:
    with pytest.raises(TokenStoreUnavailable) as info:
        KeyringStore().get("default", "listenbrainz")
    assert SECRET["token"] not in str(info.value)
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


# choosing


def test_open_token_store_file(data_dir: Path) -> None:
    tokens = open_token_store("file", data_dir, lambda message: None)
    assert isinstance(tokens, FileStore)
    assert tokens.path == data_dir / "tokens.json"


def test_open_token_store_keyring(data_dir: Path, memory_keyring: MemoryKeyring) -> None:
    assert isinstance(open_token_store("keyring", data_dir, lambda message: None), KeyringStore)


def test_open_token_store_keyring_without_backend_raises(
    data_dir: Path, no_keyring_backend: None
) -> None:
    with pytest.raises(TokenStoreUnavailable):
        open_token_store("keyring", data_dir, lambda message: None)
