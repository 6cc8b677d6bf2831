"""The tokens `scrobctl serve` accepts, one per source, kept as SHA-256 hashes in
`serve-tokens.json` (mode 0600) in the data folder: the file alone cannot authenticate anyone,
so it needs neither the keyring nor a warning, and the token itself is shown only once.

A token is a random UUID: 122 random bits, and the shape ListenBrainz user tokens have, which
some scrobblers check before they will save one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scrobctl import own_files
from scrobctl.errors import ScrobctlError, UsageError
from scrobctl.serve.common import Source

FILE_NAME = "serve-tokens.json"
NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
PROFILE = NAME


@dataclass(frozen=True)
class TokenInfo:
    name: str
    profile: str
    account: str | None
    created_at: float


def _digest(token: str) -> str:
    return hashlib.sha256(token.strip().encode("utf-8")).hexdigest()


class ServeTokens:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / FILE_NAME

    def _load(self) -> dict[str, dict[str, Any]]:
        data = own_files.read_json(
            self.path,
            str(self.path),
            "fix or remove it, then add the tokens again with `scrobctl serve token add`",
            ScrobctlError,
        )
        if not isinstance(data, dict):
            raise ScrobctlError(f"{self.path} is not a token list", "remove it and add tokens")
        return data

    def _save(self, data: dict[str, dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        text = json.dumps(data, indent=1, sort_keys=True)
        own_files.replace(self.path, text, ".serve-tokens-")

    def add(
        self, name: str, profile: str = "default", account: str | None = None, *, replace: bool
    ) -> str:
        """A new token for the source `name`; the old one stops working when replaced."""
        if not NAME.match(name):
            raise UsageError(f"{name!r} is not a source name (letters, digits, '_', '.', '-')")
        if not PROFILE.match(profile):
            raise UsageError(f"{profile!r} is not a profile name")
        data = self._load()
        if name in data and not replace:
            raise UsageError(
                f"a token named {name!r} exists",
                f"use `scrobctl serve token add {name} --replace` for a new one",
            )
        token = str(uuid.uuid4())
        data[name] = {
            "sha256": _digest(token),
            "profile": profile,
            "account": account,
            "created_at": time.time(),
        }
        self._save(data)
        return token

    def remove(self, name: str) -> bool:
        data = self._load()
        if data.pop(name, None) is None:
            return False
        self._save(data)
        return True

    def list(self) -> list[TokenInfo]:
        return [
            TokenInfo(
                name,
                entry.get("profile", "default"),
                entry.get("account"),
                float(entry.get("created_at") or 0),
            )
            for name, entry in sorted(self._load().items())
            if isinstance(entry, dict)
        ]

    def verifier(self) -> TokenVerifier:
        return TokenVerifier(self._load())

    def current(self) -> TokenVerifier:
        """The verifier for the file as it is now: a token added or removed while `serve` runs
        counts from the next request on."""
        try:
            stamp = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            stamp = None
        cached = getattr(self, "_cached", None)
        if cached is None or cached[0] != stamp:
            cached = self._cached = (stamp, self.verifier())
        return cached[1]


class TokenVerifier:
    """Matches a presented token against the hashes, in constant time per entry."""

    def __init__(self, data: dict[str, dict[str, Any]]) -> None:
        self._entries = [
            (
                str(entry.get("sha256", "")),
                Source(name, entry.get("profile") or "default", entry.get("account")),
            )
            for name, entry in data.items()
            if isinstance(entry, dict)
        ]

    def __len__(self) -> int:
        return len(self._entries)

    def source(self, token: str | None) -> Source | None:
        if not token:
            return None
        digest = _digest(token)
        found = None
        for stored, source in self._entries:
            if hmac.compare_digest(stored, digest):
                found = source
        return found
