"""A keyring backend that reads but refuses to write, as a locked Secret Service collection
does (keyring raises PasswordSetError from `set_password`). Selected in a subprocess with
PYTHON_KEYRING_BACKEND=tests.fakes.locked_keyring.LockedKeyring (the repo on PYTHONPATH)."""

from __future__ import annotations

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError, PasswordSetError


class LockedKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        raise PasswordSetError("the collection is locked")

    def delete_password(self, service: str, username: str) -> None:
        raise PasswordDeleteError("not found")
