"""Writing imported history: plays, what each service has, ratings, and import checkpoints.

An imported page and its checkpoint are written in one transaction, so a crash loses at most the
page in flight and a re-run continues where the last page left off. Every write is idempotent
(the same play, scrobble or rating twice is one row), which is what makes resuming exact.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from scrobctl.store.db import Store
from scrobctl.store.history import half_length_window
from scrobctl.store.items import ItemRef, ItemResolver
from scrobctl.store.plays import nearest_play

HISTORY = "history"
RATINGS = "ratings"


@dataclass(frozen=True, slots=True)
class ImportedPlay:
    ref: ItemRef
    watched_at: int
    remote_id: str | None = None  # the service's own id for the play (ListenBrainz msid)


@dataclass(frozen=True, slots=True)
class ImportedRating:
    ref: ItemRef
    rating: float  # 1-10
    rated_at: int | None


@dataclass
class Checkpoint:
    state: str  # "running" | "done"
    cursor: dict[str, Any]
    high_water: int | None
    processed: int
    matched: int
    failed: int


def load_checkpoint(store: Store, profile: str, service: str, kind: str) -> Checkpoint | None:
    row = store.conn.execute(
        "SELECT * FROM imports WHERE profile = ? AND service = ? AND kind = ?",
        (profile, service, kind),
    ).fetchone()
    if row is None:
        return None
    return Checkpoint(
        state=row["state"],
        cursor=json.loads(row["cursor"] or "{}"),
        high_water=row["high_water"],
        processed=row["processed"],
        matched=row["matched"],
        failed=row["failed"],
    )


def save_checkpoint(
    store: Store, profile: str, service: str, kind: str, checkpoint: Checkpoint
) -> None:
    """Inside the caller's transaction: together with the page it describes."""
    now = time.time()
    store.conn.execute(
        "INSERT INTO imports (profile, service, kind, state, cursor, high_water, started_at,"
        " finished_at, processed, matched, failed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (profile, service, kind) DO UPDATE SET state = excluded.state,"
        " cursor = excluded.cursor, high_water = excluded.high_water,"
        " finished_at = excluded.finished_at, processed = excluded.processed,"
        " matched = excluded.matched, failed = excluded.failed",
        (
            profile,
            service,
            kind,
            checkpoint.state,
            json.dumps(checkpoint.cursor),
            checkpoint.high_water,
            now,
            now if checkpoint.state == "done" else None,
            checkpoint.processed,
            checkpoint.matched,
            checkpoint.failed,
        ),
    )


class ImportWriter:
    """Records imported plays and ratings for one (profile, service)."""

    def __init__(self, store: Store, profile: str, service: str) -> None:
        self.store = store
        self.profile = profile
        self.service = service
        self._items = ItemResolver(store.conn)

    def play(self, imported: ImportedPlay) -> bool:
        """Record one play; True when it matched an item by a strong id (not a weak title)."""
        conn = self.store.conn
        item_id, weak = self._items.resolve(imported.ref)
        window = half_length_window(imported.ref.duration_ms, imported.ref.kind)
        at = imported.watched_at
        found = nearest_play(conn, self.profile, item_id, at, window)
        if found is not None:
            at = found[1]  # the same play: the service has it at our time
        else:
            conn.execute(
                "INSERT OR IGNORE INTO plays (profile, item_id, watched_at, duration_ms, source)"
                " VALUES (?, ?, ?, ?, ?)",
                (self.profile, item_id, at, imported.ref.duration_ms, f"import:{self.service}"),
            )
        conn.execute(
            "INSERT INTO scrobbles (profile, service, item_id, scrobbled_at, source, remote_id)"
            " VALUES (?, ?, ?, ?, 'imported', ?)"
            " ON CONFLICT (profile, service, item_id, scrobbled_at) DO UPDATE"
            " SET remote_id = excluded.remote_id WHERE excluded.remote_id IS NOT NULL",
            (self.profile, self.service, item_id, at, imported.remote_id),
        )
        return not weak

    def rating(self, imported: ImportedRating) -> bool:
        item_id, weak = self._items.resolve(imported.ref)
        self.store.conn.execute(
            "INSERT INTO ratings (profile, item_id, rating, rated_at, source)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (profile, item_id, source) DO UPDATE SET"
            " rating = excluded.rating, rated_at = excluded.rated_at",
            (self.profile, item_id, imported.rating, imported.rated_at, self.service),
        )
        return not weak

    def forget_cache(self) -> None:
        self._items.forget()
