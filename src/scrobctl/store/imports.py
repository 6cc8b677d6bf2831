"""Writing imported history: plays, what each service has, and ratings (the checkpoints are in
store/checkpoints.py).

An imported page and its checkpoint are written in one transaction, so a crash loses at most the
page in flight and a re-run continues where the last page left off. Every write is idempotent
(the same play, scrobble or rating twice is one row), which is what makes resuming exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from scrobctl.store.db import Store
from scrobctl.store.history import half_length_window
from scrobctl.store.items import ItemRef, ItemResolver
from scrobctl.store.plays import nearest_play


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


class Written(NamedTuple):
    """What recording one imported entry did: matched by a strong id (not a weak title), and
    whether it was new to the archive."""

    by_id: bool
    new: bool


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
