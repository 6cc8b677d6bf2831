"""Writing imported history: plays, what each service has, ratings, and import checkpoints.

An imported page and its checkpoint are written in one transaction, so a crash loses at most the
page in flight and a re-run continues where the last page left off. Every write is idempotent
(the same play, scrobble or rating twice is one row), which is what makes resuming exact.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from scrobctl.store.db import Store, from_row
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


RUNNING, INTERRUPTED, DONE = "running", "interrupted", "done"


@dataclass
class Checkpoint:
    # "running" (a process is at it, or was killed at it), "interrupted" (it stopped and said
    # why, in `detail`) or "done". Both unfinished states are resumed by the next run.
    state: str
    cursor: dict[str, Any]
    high_water: int | None
    processed: int
    matched: int
    failed: int
    counts: dict[str, int] = field(default_factory=dict)  # plays, ratings, new_plays...
    detail: str | None = None


class Written(NamedTuple):
    """What recording one imported entry did: matched by a strong id (not a weak title), and
    whether it was new to the archive."""

    by_id: bool
    new: bool


def _checkpoint(row: Any) -> Checkpoint:
    return from_row(
        Checkpoint,
        row,
        cursor=json.loads(row["cursor"] or "{}"),
        counts=json.loads(row["counts"] or "{}"),
    )


def load_checkpoint(store: Store, profile: str, service: str, kind: str) -> Checkpoint | None:
    row = store.conn.execute(
        "SELECT * FROM imports WHERE profile = ? AND service = ? AND kind = ?",
        (profile, service, kind),
    ).fetchone()
    return None if row is None else _checkpoint(row)


def list_imports(store: Store) -> list[tuple[str, str, float | None, Checkpoint]]:
    """(profile, service, finished_at, checkpoint) of every history import, by service."""
    rows = store.conn.execute(
        "SELECT * FROM imports WHERE kind = ? ORDER BY service, profile", (HISTORY,)
    )
    return [(r["profile"], r["service"], r["finished_at"], _checkpoint(r)) for r in rows]


def mark_interrupted(store: Store, profile: str, service: str, kind: str, detail: str) -> None:
    """A run that stops says so: its row is no longer "running", and keeps the checkpoint of
    the last page written, which the next run continues from."""
    with store.transaction() as conn:
        conn.execute(
            "UPDATE imports SET state = ?, detail = ? WHERE profile = ? AND service = ?"
            " AND kind = ? AND state = ?",
            (INTERRUPTED, detail, profile, service, kind, RUNNING),
        )


def save_checkpoint(
    store: Store, profile: str, service: str, kind: str, checkpoint: Checkpoint
) -> None:
    """Inside the caller's transaction: together with the page it describes."""
    now = time.time()
    store.conn.execute(
        "INSERT INTO imports (profile, service, kind, state, cursor, high_water, started_at,"
        " finished_at, processed, matched, failed, counts, detail)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (profile, service, kind) DO UPDATE SET state = excluded.state,"
        " cursor = excluded.cursor, high_water = excluded.high_water,"
        " finished_at = excluded.finished_at, processed = excluded.processed,"
        " matched = excluded.matched, failed = excluded.failed, counts = excluded.counts,"
        " detail = excluded.detail",
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
            json.dumps(checkpoint.counts, sort_keys=True),
            checkpoint.detail,
        ),
    )


class ImportWriter:
    """Records imported plays and ratings for one (profile, service)."""

    def __init__(self, store: Store, profile: str, service: str) -> None:
        self.store = store
        self.profile = profile
        self.service = service
        self._items = ItemResolver(store.conn)

    def play(self, imported: ImportedPlay) -> Written:
        """Record one play: new to the archive, or a play it already has (piped, sent, or
        imported before) that this service is now known to have too."""
        conn = self.store.conn
        item_id, weak = self._items.resolve(imported.ref)
        window = half_length_window(imported.ref.duration_ms, imported.ref.kind)
        at = imported.watched_at
        found = nearest_play(conn, self.profile, item_id, at, window)
        new = found is None
        if found is not None:
            at = found[1]  # the same play: the service has it at our time
        else:
            new = (
                conn.execute(
                    "INSERT OR IGNORE INTO plays (profile, item_id, watched_at, duration_ms,"
                    " source) VALUES (?, ?, ?, ?, ?)",
                    (self.profile, item_id, at, imported.ref.duration_ms, f"import:{self.service}"),
                ).rowcount
                == 1
            )
        conn.execute(
            "INSERT INTO scrobbles (profile, service, item_id, scrobbled_at, source, remote_id)"
            " VALUES (?, ?, ?, ?, 'imported', ?)"
            " ON CONFLICT (profile, service, item_id, scrobbled_at) DO UPDATE"
            " SET remote_id = excluded.remote_id WHERE excluded.remote_id IS NOT NULL",
            (self.profile, self.service, item_id, at, imported.remote_id),
        )
        return Written(not weak, new)

    def rating(self, imported: ImportedRating) -> Written:
        """Record the service's rating; new unless it already had this value."""
        item_id, weak = self._items.resolve(imported.ref)
        known = self.store.conn.execute(
            "SELECT rating FROM ratings WHERE profile = ? AND item_id = ? AND source = ?",
            (self.profile, item_id, self.service),
        ).fetchone()
        self.store.conn.execute(
            "INSERT INTO ratings (profile, item_id, rating, rated_at, source)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (profile, item_id, source) DO UPDATE SET"
            " rating = excluded.rating, rated_at = excluded.rated_at",
            (self.profile, item_id, imported.rating, imported.rated_at, self.service),
        )
        return Written(not weak, known is None or known["rating"] != imported.rating)

    def forget_cache(self) -> None:
        self._items.forget()
