"""Where tokens live: the OS keyring, or (explicitly chosen) a 0600 JSON file in the data folder.

Tokens never go into SQLite, logs or messages. A secret is a small JSON object per
(profile, service): for ListenBrainz `{"token": ...}`. Keyring entries are scoped to one archive
(the database's archive id), as the file store is by living in the data folder: a second data
folder never reads, revokes or deletes the first one's logins (issue 17).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from scrobctl import own_files
from scrobctl.errors import NoKeyring, TokenMissing, TokenStoreUnavailable, login_hint
from scrobctl.kinds import KINDS
from scrobctl.paths import TOKEN_FILE_NAME

KEYRING_SERVICE = "scrobctl"
# What each kind's stored secret must hold for its login to be there (declared in kinds.py).
SECRET_KEY = {k.name: k.secret_key for k in KINDS.values()}
NO_KEYRING_HINT = (
    "start or unlock a Secret Service (e.g. gnome-keyring), "
    "or set SCROBCTL_TOKEN_STORE=file to keep tokens in a 0600 file in the data folder"
)


class TokenStore(Protocol):
    name: str

    def get(self, profile: str, service: str) -> dict[str, Any] | None: ...

    def set(self, profile: str, service: str, secret: dict[str, Any]) -> None: ...

    def delete(self, profile: str, service: str) -> None: ...


def _key(profile: str, service: str) -> str:
    return f"{profile}/{service}"


def _parse(raw: str, profile: str, service: str) -> dict[str, Any]:
    """A keyring entry as scrobctl wrote it: a JSON object, else a clear error."""
    try:
        secret = json.loads(raw)
    except ValueError:
        secret = None
    if not isinstance(secret, dict):
        raise TokenStoreUnavailable(
            f"the keyring entry for {_key(profile, service)} is not what scrobctl writes",
            f"run `scrobctl login {service}` again",
        )
    return secret


class KeyringStore:
    """`scope` (the archive id) prefixes every key. An entry written before scoping (key
    `profile/service`) is taken over by the first archive that has that connection
    (`owns_legacy`), so an upgrade keeps the login and another folder cannot claim it; app
    credentials (`@app/...`) are not per-account and are read unscoped as a fallback."""

    name = "keyring"

    def __init__(
        self,
        scope: str | None = None,
        owns_legacy: Callable[[str, str], bool] | None = None,
    ) -> None:
        self._scope = scope
        self._owns_legacy = owns_legacy
        import keyring
        from keyring.backends import chainer, fail

        backend = keyring.get_keyring()
        usable = not isinstance(backend, fail.Keyring) and not (
            isinstance(backend, chainer.ChainerBackend) and not backend.backends
        )
        if not usable:
            raise NoKeyring("no usable keyring backend", NO_KEYRING_HINT)
        self._keyring = keyring

    def _call(self, fn: Callable[..., Any], *args: str) -> Any:
        try:
            return fn(*args)
        except Exception as exc:  # backends raise their own types (D-Bus, locked, ...)
            raise TokenStoreUnavailable(
                f"the keyring failed ({type(exc).__name__})", NO_KEYRING_HINT
            ) from None

    def _scoped(self, profile: str, service: str) -> str:
        key = _key(profile, service)
        return f"{self._scope}/{key}" if self._scope else key

    def get(self, profile: str, service: str) -> dict[str, Any] | None:
        get = self._keyring.get_password
        raw = self._call(get, KEYRING_SERVICE, self._scoped(profile, service))
        if raw or not self._scope:
            return _parse(raw, profile, service) if raw else None
        legacy = self._call(get, KEYRING_SERVICE, _key(profile, service))
        if not legacy:
            return None
        if profile.startswith("@"):
            return _parse(legacy, profile, service)
        if self._owns_legacy is None or not self._owns_legacy(profile, service):
            return None
        secret = _parse(legacy, profile, service)
        self.set(profile, service, secret)
        self._delete_key(_key(profile, service))
        return secret

    def set(self, profile: str, service: str, secret: dict[str, Any]) -> None:
        self._call(
            self._keyring.set_password,
            KEYRING_SERVICE,
            self._scoped(profile, service),
            json.dumps(secret),
        )

    def delete(self, profile: str, service: str) -> None:
        self._delete_key(self._scoped(profile, service))

    def _delete_key(self, key: str) -> None:
        from keyring.errors import PasswordDeleteError

        try:
            self._keyring.delete_password(KEYRING_SERVICE, key)
        except PasswordDeleteError:
            pass
        except Exception as exc:
            raise TokenStoreUnavailable(
                f"the keyring failed ({type(exc).__name__})", NO_KEYRING_HINT
            ) from None


class FileStore:
    """Plain JSON readable by the owner only, for headless machines with no Secret Service."""

    name = "file"

    def __init__(self, path: Path, warn: Callable[[str], None]) -> None:
        self.path = path
        self._warn = warn

    def _load(self) -> dict[str, dict[str, Any]]:
        hint = "fix or remove it, then log in again"
        what = f"the token file {self.path}"
        data = own_files.read_json(self.path, what, hint, TokenStoreUnavailable)
        if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
            raise TokenStoreUnavailable(
                f"the token file {self.path} is not what scrobctl writes (an object of objects)",
                hint,
            )
        return data

    def _save(self, data: dict[str, dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        own_files.replace(self.path, json.dumps(data), ".tokens-")

    def get(self, profile: str, service: str) -> dict[str, Any] | None:
        return self._load().get(_key(profile, service))

    def set(self, profile: str, service: str, secret: dict[str, Any]) -> None:
        data = self._load()
        data[_key(profile, service)] = secret
        self._save(data)
        self._warn(f"tokens are stored unencrypted in {self.path} (SCROBCTL_TOKEN_STORE=file)")

    def delete(self, profile: str, service: str) -> None:
        data = self._load()
        if data.pop(_key(profile, service), None) is not None:
            self._save(data)


def open_token_store(
    kind: str,
    data_dir: Path,
    warn: Callable[[str], None],
    scope: str | None = None,
    owns_legacy: Callable[[str, str], bool] | None = None,
) -> TokenStore:
    if kind == "file":
        return FileStore(data_dir / TOKEN_FILE_NAME, warn)
    return KeyringStore(scope, owns_legacy)


def describe(kind: str, data_dir: Path) -> str:
    """The store as a user knows it, for messages."""
    if kind == "file":
        return f"file store ({data_dir / TOKEN_FILE_NAME})"
    return "keyring"


def missing(
    kind: str, data_dir: Path, service: str, profile: str, target_kind: str | None = None
) -> TokenMissing:
    """The one line for a connection whose token is not in the store in use: both stores and
    both fixes, and nothing marked on the connection."""
    other = "keyring" if kind == "file" else "file store"
    return TokenMissing(
        service,
        f"no token in the {describe(kind, data_dir)}",
        f"if you logged in with the {other}, move it with `scrobctl tokens migrate --to {kind}`"
        f" (run where the {other} works), or run {login_hint(service, profile, target_kind)[4:]}"
        f" with SCROBCTL_TOKEN_STORE={kind}",
    )
