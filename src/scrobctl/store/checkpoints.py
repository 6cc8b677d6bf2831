"""A history import's checkpoint: how far it got and how it stands (`running`, `interrupted`,
`done`), one `imports` row per (profile, service, kind). Apart from the writer of imported
plays (store/imports.py), so that `status`, which lists them, imports neither items nor plays
(issue #25).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from scrobctl.store.db import Store, from_row

HISTORY = "history"
RATINGS = "ratings"

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
