"""The one object built at the CLI edge and passed down: settings, store, tokens, clock, HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from scrobctl.clock import Clock
from scrobctl.paths import DB_NAME, FLUSH_LOCK_NAME, ensure_private_dir

if TYPE_CHECKING:
    from pathlib import Path

    import httpx

    from scrobctl.config import Settings
    from scrobctl.errors import TokenMissing
    from scrobctl.http import Limits, ServiceLimiter
    from scrobctl.store import Store
    from scrobctl.tokens import TokenStore


class Runtime:
    """`settings=None` reads them on first use: a command that only reads the archive finds
    its folder by a plain read (paths.data_dir) and never builds the settings model (pydantic:
    more than `import typer` costs, issue #25)."""

    def __init__(
        self,
        settings: Settings | None,
        warn: Callable[[str], None],
        clock: Clock | None = None,
        http_client: Callable[[], httpx.AsyncClient] | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.settings_ = settings
        # The request rates every limiter paces to; None: each service's documented ones.
        self.limits = limits
        self.warn = warn
        self.clock = clock or Clock()
        self.http_client = http_client or self.make_http
        self._store: Store | None = None
        self._tokens: TokenStore | None = None
        self._data_dir: Path | None = None

    @property
    def settings(self) -> Settings:
        if self.settings_ is None:
            from scrobctl.config import load_settings

            self.settings_ = load_settings()
        return self.settings_

    def make_http(self, log: Callable[[str], None] | None = None) -> httpx.AsyncClient:
        """The production client, bounded by the settings' request deadline; a server clock
        that differs from ours is said once, through `warn`."""
        from scrobctl.http import make_client

        return make_client(deadline=self.settings.request_deadline, warn=self.warn, log=log)

    def limiter(
        self, service: str, *, kind: str | None = None, rate: tuple[float, float] | None = None
    ) -> ServiceLimiter:
        """A limiter for `service` (a target's name; `kind` picks the limits where it differs)
        on this runtime's clock, at its limits or `rate`, a server type's own."""
        from scrobctl.http import Limits, ServiceLimiter

        limits = self.limits or Limits()
        return ServiceLimiter(service, clock=self.clock, kind=kind, rate=rate, limits=limits)

    @property
    def data_dir(self) -> Path:
        if self.settings_ is not None:
            return self.settings_.data_dir
        if self._data_dir is None:
            from scrobctl.paths import plain_data_dir

            # A config file that cannot be read might name another folder: the settings
            # model reads it and says what is wrong, rather than the default folder being used.
            self._data_dir = plain_data_dir() or self.settings.data_dir
        return self._data_dir

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
        """The token store in use (SCROBCTL_TOKEN_STORE)."""
        if self._tokens is None:
            self._tokens = self.token_store(self.settings.token_store)
        return self._tokens

    def token_store(self, kind: str, warn: Callable[[str], None] | None = None) -> TokenStore:
        """A token store of either kind for this archive (`tokens migrate` opens both)."""
        from scrobctl.tokens import open_token_store

        if kind == "file":
            return open_token_store(kind, self.data_dir, warn or self.warn)
        from scrobctl.store import connections

        store = self.store()

        def owns(profile: str, service: str) -> bool:
            return connections.get_connection(store, profile, service) is not None

        return open_token_store(
            kind, self.data_dir, warn or self.warn, connections.archive_id(store), owns
        )

    def secret(
        self, profile: str, service: str, key: str, kind: str | None = None
    ) -> dict[str, Any]:
        """The stored secret of a connection (`service` is the target's name, `kind` its kind
        when it differs), which must hold `key`; else TokenMissing."""
        secret = self.tokens().get(profile, service)
        if not secret or not secret.get(key):
            raise self.token_missing(service, profile, kind)
        return secret

    def token_missing(self, service: str, profile: str, kind: str | None = None) -> TokenMissing:
        """The error for a connection whose token is not in the store in use."""
        from scrobctl.tokens import missing

        return missing(self.settings.token_store, self.data_dir, service, profile, kind)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
