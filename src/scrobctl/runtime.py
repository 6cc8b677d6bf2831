"""The one object built at the CLI edge and passed down: settings, store, tokens, clock, HTTP."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from scrobctl.clock import Clock
from scrobctl.config import Settings
from scrobctl.paths import DB_NAME, FLUSH_LOCK_NAME, ensure_private_dir

if TYPE_CHECKING:
    from pathlib import Path

    import httpx

    from scrobctl.store import Store
    from scrobctl.tokens import TokenStore


@dataclass
class Runtime:
    settings: Settings
    warn: Callable[[str], None]
    clock: Clock = field(default_factory=Clock)
    http_client: Callable[[], httpx.AsyncClient] = None  # type: ignore[assignment]
    _store: Store | None = None
    _tokens: TokenStore | None = None

    def __post_init__(self) -> None:
        if self.http_client is None:
            self.http_client = self.make_http

    def make_http(self, log: Callable[[str], None] | None = None) -> httpx.AsyncClient:
        """The production client, bounded by the settings' request deadline; a server clock
        that differs from ours is said once, through `warn`."""
        from scrobctl.http import make_client

        return make_client(deadline=self.settings.request_deadline, warn=self.warn, log=log)

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    @property
    def db_path(self) -> Path:
        return self.data_dir / DB_NAME

    @property
    def lock_path(self) -> Path:
        return self.data_dir / FLUSH_LOCK_NAME

    def store(self) -> Store:
        if self._store is None:
            from scrobctl.store import open_store

            ensure_private_dir(self.data_dir)
            self._store = open_store(self.db_path)
        return self._store

    def tokens(self) -> TokenStore:
        if self._tokens is None:
            from scrobctl.tokens import open_token_store

            self._tokens = open_token_store(self.settings.token_store, self.data_dir, self.warn)
        return self._tokens

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
