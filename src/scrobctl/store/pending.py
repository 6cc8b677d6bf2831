"""New plays and their scrobble jobs, held in memory and written with one `executemany` each.

A statement per row is most of what a large `scrobble` input costs; a batch is several times
cheaper. Play ids are given here (`db.next_id`) rather than by SQLite, so that the jobs of a play
not yet written can name it; `begin()` reads the next free id afresh in each transaction.

Whoever reads `plays` or `jobs` while rows are pending must `write()` first.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from scrobctl.store.db import next_id
from scrobctl.store.queue import SCROBBLE_JOB_VALUES, scrobble_job_values

_PLAY_ROW = (
    "INSERT INTO plays (id, profile, item_id, watched_at, duration_ms, played_ms, percentage,"
    " source, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


@dataclass
class PendingPlays:
    conn: sqlite3.Connection
    _next_id: int = 0
    _plays: list[tuple[object, ...]] = field(default_factory=list)
    _jobs: list[tuple[object, ...]] = field(default_factory=list)
    _new: dict[int, int] = field(default_factory=dict)  # pending play id -> its watched_at
    _job_keys: set[tuple[str, int]] = field(default_factory=set)  # (service, play id)

    def begin(self) -> None:
        """Call right after BEGIN IMMEDIATE."""
        self.discard()
        self._next_id = next_id(self.conn, "plays")

    def add_play(
        self,
        profile: str,
        item_id: int,
        watched_at: int,
        duration_ms: int | None,
        played_ms: int | None,
        percentage: float | None,
        source: str,
        now: float,
    ) -> int:
        """A play known to be new: nothing in `plays` has this (profile, item, start)."""
        play_id = self._next_id
        self._next_id += 1
        self._plays.append(
            (play_id, profile, item_id, watched_at, duration_ms, played_ms, percentage, source, now)
        )
        self._new[play_id] = watched_at
        return play_id

    def holds(self, play_id: int) -> bool:
        return play_id in self._new

    def add_job(self, service: str, profile: str, play_id: int, now: float) -> bool:
        """Queue a pending play for a service once; False when that job is already pending.
        Nothing in `jobs` can name the play yet, since the play is not written."""
        key = (service, play_id)
        if key in self._job_keys:
            return False
        self._job_keys.add(key)
        self._jobs.append(scrobble_job_values(service, profile, play_id, self._new[play_id], now))
        return True

    def write(self) -> None:
        if self._plays:
            self.conn.executemany(_PLAY_ROW, self._plays)
        if self._jobs:
            self.conn.executemany(SCROBBLE_JOB_VALUES, self._jobs)
        self.discard()

    def discard(self) -> None:
        self._plays.clear()
        self._jobs.clear()
        self._new.clear()
        self._job_keys.clear()
