"""Connections: which targets a profile is logged in to, and whether they still work.

A target is a named account on a server of one kind (issue #19): `service` is its name (the
default target of a kind is named after the kind), `kind` says which client speaks to it, `url`
is its own API root (None: the configured one) and `server` the server type found at login
("maloja"; None: the kind's own service). Only non-secret facts live here (account name, expiry,
status); tokens are in the token store, keyed by the target's name.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from scrobctl.store.db import Store, from_row

OK = "ok"
RECONNECT_REQUIRED = "reconnect_required"
ATTENTION_REQUIRED = "attention_required"  # the account needs the user (limit, lock, VIP...)


@dataclass(frozen=True)
class Connection:
    profile: str
    service: str
    enabled: bool
    account: str | None
    token_expires_at: float | None
    settings: dict[str, Any]
    status: str
    status_detail: str | None
    deferred_until: float | None
    connected_at: float | None
    kind: str = ""
    url: str | None = None
    server: str | None = None

    def __post_init__(self) -> None:
        if not self.kind:
            object.__setattr__(self, "kind", self.service)

    @property
    def name(self) -> str:
        """The target's name: what routes, `flush`, `queue` and `import` call it."""
        return self.service

    @property
    def usable(self) -> bool:
        return self.enabled and self.status == OK


def _from_row(row: sqlite3.Row) -> Connection:
    return from_row(
        Connection,
        row,
        enabled=bool(row["enabled"]),
        settings=json.loads(row["settings"] or "{}"),
        kind=row["kind"] or row["service"],
    )


def archive_id(store: Store) -> str:
    """This archive's id (migration m004), which scopes its keyring entries."""
    return store.conn.execute("SELECT value FROM meta WHERE key = 'archive_id'").fetchone()[0]


def list_connections(store: Store, profile: str | None = None) -> list[Connection]:
    sql = "SELECT * FROM connections"
    args: tuple[Any, ...] = ()
    if profile is not None:
        sql += " WHERE profile = ?"
        args = (profile,)
    return [_from_row(r) for r in store.conn.execute(sql + " ORDER BY profile, service", args)]


def get_connection(store: Store, profile: str, service: str) -> Connection | None:
    row = store.conn.execute(
        "SELECT * FROM connections WHERE profile = ? AND service = ?", (profile, service)
    ).fetchone()
    return _from_row(row) if row else None


# settings key: a Last.fm-compatible server that failed the indexed batch form of track.scrobble
# while the single form worked, so it gets one scrobble a request (issue #19). A new login
# forgets it: the server may have been fixed, or the URL now leads elsewhere.
SINGLE_SCROBBLES = "single_scrobbles"


def save_login(
    store: Store,
    profile: str,
    service: str,
    account: str,
    token_expires_at: float | None = None,
    *,
    kind: str | None = None,
    url: str | None = None,
    server: str | None = None,
) -> None:
    """Record a fresh login: enabled, healthy, no deferral. `service` is the target's name;
    `kind` defaults to it (the default target of a kind)."""
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO connections (profile, service, enabled, account, token_expires_at,"
            " settings, status, status_detail, deferred_until, connected_at, kind, url, server)"
            " VALUES (?, ?, 1, ?, ?, '{}', 'ok', NULL, NULL, ?, ?, ?, ?)"
            " ON CONFLICT (profile, service) DO UPDATE SET enabled = 1, account = excluded.account,"
            " token_expires_at = excluded.token_expires_at, status = 'ok', status_detail = NULL,"
            " deferred_until = NULL,"
            # The first login's time stays: plays recorded before it are the ones the target
            # may lack (store/lacking.py), and a fresh login changes nothing about them.
            " connected_at = COALESCE(connections.connected_at, excluded.connected_at),"
            " kind = excluded.kind, url = excluded.url, server = excluded.server,"
            " settings = json_remove(COALESCE(connections.settings, '{}'), ?)",
            (
                profile,
                service,
                account,
                token_expires_at,
                time.time(),
                kind or service,
                url,
                server,
                f"$.{SINGLE_SCROBBLES}",
            ),
        )


ARCHIVED_DONE = "archived_done"  # settings key: no play from before the login is left to queue


def mark_archived_done(store: Store, profile: str, service: str) -> None:
    """The plays recorded before this login are queued (or the user declined): later plays are
    routed at ingest, so the archive need not be searched again for this connection."""
    with store.transaction() as conn:
        conn.execute(
            "UPDATE connections SET settings = json_set(COALESCE(settings, '{}'), ?, 1)"
            " WHERE profile = ? AND service = ?",
            (f"$.{ARCHIVED_DONE}", profile, service),
        )


FAILING_SINCE = "failing_since"  # settings key: the start of a run of failed sends


def set_setting(store: Store, profile: str, service: str, key: str, value: object) -> None:
    """One key of the connection's non-secret settings (None removes it)."""
    with store.transaction() as conn:
        if value is None:
            conn.execute(
                "UPDATE connections SET settings = json_remove(COALESCE(settings, '{}'), ?)"
                " WHERE profile = ? AND service = ?",
                (f"$.{key}", profile, service),
            )
        else:
            conn.execute(
                "UPDATE connections SET settings = json_set(COALESCE(settings, '{}'), ?, ?)"
                " WHERE profile = ? AND service = ?",
                (f"$.{key}", value, profile, service),
            )


def mark_reconnect_required(store: Store, profile: str, service: str, detail: str) -> None:
    mark(store, profile, service, RECONNECT_REQUIRED, detail)


def mark(store: Store, profile: str, service: str, status: str, detail: str) -> None:
    with store.transaction() as conn:
        conn.execute(
            "UPDATE connections SET status = ?, status_detail = ?"
            " WHERE profile = ? AND service = ?",
            (status, detail, profile, service),
        )


def defer(store: Store, profile: str, service: str, until: float) -> None:
    """Remember a service-imposed pause so the next run does not knock before it ends."""
    with store.transaction() as conn:
        conn.execute(
            "UPDATE connections SET deferred_until = ? WHERE profile = ? AND service = ?",
            (until, profile, service),
        )


def remove_connection(store: Store, profile: str, service: str) -> bool:
    with store.transaction() as conn:
        cursor = conn.execute(
            "DELETE FROM connections WHERE profile = ? AND service = ?", (profile, service)
        )
    return cursor.rowcount > 0


def update_expiry(store: Store, profile: str, service: str, expires_at: float) -> None:
    with store.transaction() as conn:
        conn.execute(
            "UPDATE connections SET token_expires_at = ? WHERE profile = ? AND service = ?",
            (expires_at, profile, service),
        )


def mark_ok(store: Store, profile: str, service: str, account: str) -> None:
    """A check found the credentials working: clear any earlier "reconnect required"."""
    with store.transaction() as conn:
        conn.execute(
            "UPDATE connections SET status = 'ok', status_detail = NULL, account = ?"
            " WHERE profile = ? AND service = ?",
            (account, profile, service),
        )
