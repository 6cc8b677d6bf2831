"""Which notifications were sent, by cause (`reconnect:default:listenbrainz`, ...)."""

from __future__ import annotations

from scrobctl.store.db import Store


def was_sent(store: Store, key: str) -> bool:
    row = store.conn.execute("SELECT 1 FROM notices WHERE key = ?", (key,)).fetchone()
    return row is not None


def record(store: Store, key: str, title: str, now: float) -> None:
    with store.transaction() as conn:
        conn.execute(
            "INSERT OR REPLACE INTO notices (key, sent_at, title) VALUES (?, ?, ?)",
            (key, now, title),
        )


def clear(store: Store, prefix: str) -> None:
    """The cause is over (the login works again): a new one is worth a new message."""
    with store.transaction() as conn:
        conn.execute("DELETE FROM notices WHERE substr(key, 1, ?) = ?", (len(prefix), prefix))
