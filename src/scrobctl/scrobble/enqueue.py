"""From parsed events to plays and queued jobs, with thresholds and duplicate detection.

A play is the same play when it is of the same item, for the same profile, starting less than half
its length from another one: a re-sent stop event, progress pings every few seconds and the same
file piped again all land inside that window, while listening to a track again cannot.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from scrobctl.scrobble.events import Event, Line
from scrobctl.scrobble.rules import NeedsDuration, below_threshold
from scrobctl.store.db import Store
from scrobctl.store.history import half_length_window, service_has_play
from scrobctl.store.items import ItemRef, ItemResolver
from scrobctl.store.queue import insert_scrobble_job
from scrobctl.store.ratings import set_rating

COMMIT_EVERY = 1000  # lines per transaction: fast, and a crash loses at most this many
FRESH_LIMIT = 20_000  # items whose plays are tracked in memory during one ingest


@dataclass
class IngestSummary:
    queued: int = 0
    recorded_only: int = 0
    below_threshold: int = 0
    duplicate: int = 0
    not_a_play: int = 0
    rated: int = 0
    rating_only: int = 0
    invalid: list[tuple[int, str]] = field(default_factory=list)
    jobs: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Lines accounted for (a rating that came with a play counts once, as the play)."""
        return (
            self.queued
            + self.recorded_only
            + self.below_threshold
            + self.duplicate
            + self.not_a_play
            + self.rating_only
            + len(self.invalid)
        )


def item_ref(event: Event) -> ItemRef:
    if event.type in ("track", "podcast"):
        ids = {k: v for k, v in (("mbid", event.ids.mbid), ("isrc", event.ids.isrc)) if v}
        return ItemRef(
            kind=event.type,
            ids=ids,
            title=event.title,
            artist=event.artist,
            album=event.album,
            duration_ms=event.duration_ms,
        )
    show = None
    if event.type == "episode" and event.show is not None:
        show = ItemRef(
            kind="show", ids=event.show.ids.video(), title=event.show.title, year=event.show.year
        )
    return ItemRef(
        kind=event.type,
        ids=event.ids.video(),
        title=event.title,
        year=event.year,
        duration_ms=event.duration_ms,
        show=show,
        season=event.season,
        number=event.number,
    )


def watched_at(event: Event, now: float) -> int:
    """When playback began: given, or now minus what was played."""
    if event.watched_at is not None:
        return event.watched_at
    return int(now - (event.played_ms() or 0) / 1000)


class Ingest:
    """Feeds lines into the store; `routes` is {profile: {type: [services]}}."""

    def __init__(
        self,
        store: Store,
        routes: dict[str, dict[str, list[str]]],
        *,
        dry_run: bool = False,
        now: float | None = None,
    ) -> None:
        self.store = store
        self.routes = routes
        self.dry_run = dry_run
        self.now = now
        self.summary = IngestSummary()
        self.starts: dict[str, Event] = {}  # the latest start event of each profile
        self._items = ItemResolver(store.conn)
        # (profile, item) -> [(watched_at, play id)] for items without plays before this run
        self._fresh: dict[tuple[str, int], list[tuple[int, int]]] = {}
        self._stored: set[tuple[str, int]] = set()  # items that had plays before this run

    def run(self, lines: Iterable[Line]) -> IngestSummary:
        """Commit every COMMIT_EVERY lines; a dry run is one transaction, rolled back at the end,
        so that it counts duplicates across the whole input exactly as a real run would."""
        conn = self.store.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            for count, line in enumerate(lines, start=1):
                self._one(line, self.now if self.now is not None else time.time())
                if count % COMMIT_EVERY == 0 and not self.dry_run:
                    conn.execute("COMMIT")
                    conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            conn.execute("ROLLBACK")
            self._forget()
            raise
        conn.execute("ROLLBACK" if self.dry_run else "COMMIT")
        self._forget()
        return self.summary

    def _forget(self) -> None:
        self._items.forget()
        self._fresh.clear()
        self._stored.clear()

    def _one(self, line: Line, now: float) -> None:
        summary = self.summary
        event = line.event
        if event is None:
            summary.invalid.append((line.number, line.error or "invalid"))
            return
        if event.rating is not None:
            item_id, _ = self._items.resolve(item_ref(event))
            rated_at = event.watched_at if event.watched_at is not None else int(now)
            set_rating(self.store.conn, event.profile, item_id, event.rating, rated_at)
            summary.rated += 1
            if event.percentage is None and event.watched_ms is None:
                summary.rating_only += 1
                return  # a rating, not a play
        if event.event != "stop":
            summary.not_a_play += 1
            if event.event == "start":
                self.starts[event.profile] = event
            return
        try:
            reason = below_threshold(event)
        except NeedsDuration as exc:
            summary.invalid.append((line.number, str(exc)))
            return
        if reason is not None:
            summary.below_threshold += 1
            return
        started = watched_at(event, now)
        if started > now + 300:
            summary.invalid.append((line.number, "watched_at is in the future"))
            return
        item_id, _weak = self._items.resolve(item_ref(event))
        play_id, is_new = self._play(event, item_id, started, now)
        services = self.routes.get(event.profile, {}).get(event.type, [])
        added = 0
        for service in services:
            if self._already_on(service, event, item_id, started):
                continue
            if insert_scrobble_job(self.store.conn, service, event.profile, play_id, now):
                added += 1
                summary.jobs[service] = summary.jobs.get(service, 0) + 1
        if added:
            summary.queued += 1
        elif is_new and not services:
            summary.recorded_only += 1
        else:  # seen before, or every service already has it (imported or sent)
            summary.duplicate += 1

    @staticmethod
    def _window(event: Event) -> int:
        return half_length_window(event.duration_ms or event.played_ms(), event.type)

    def _play(self, event: Event, item_id: int, started: int, now: float) -> tuple[int, bool]:
        """The play's id, and whether it is new. Items with no plays before this run are
        checked against the plays this run added, in memory: most lines of a big input are
        of such items, and this saves a query per line."""
        conn = self.store.conn
        window = self._window(event)
        key = (event.profile, item_id)
        if len(self._fresh) + len(self._stored) >= FRESH_LIMIT:
            self._fresh.clear()  # bounded memory; forgotten items are simply asked again
            self._stored.clear()
        fresh = self._fresh.get(key)
        if fresh is None and key not in self._stored:
            if (
                item_id in self._items.created
                or not conn.execute(
                    "SELECT 1 FROM plays WHERE profile = ? AND item_id = ? LIMIT 1", key
                ).fetchone()
            ):
                fresh = self._fresh[key] = []
            else:
                self._stored.add(key)
        if fresh is not None:
            for at, play_id in fresh:
                if abs(at - started) < window:
                    return play_id, False
            play_id, is_new = self._insert_play(event, item_id, started, now)
            fresh.append((started, play_id))
            return play_id, is_new
        row = conn.execute(
            "SELECT id FROM plays WHERE profile = ? AND item_id = ?"
            " AND watched_at > ? AND watched_at < ? ORDER BY abs(watched_at - ?) LIMIT 1",
            (event.profile, item_id, started - window, started + window, started),
        ).fetchone()
        if row:
            return row[0], False
        return self._insert_play(event, item_id, started, now)

    def _insert_play(
        self, event: Event, item_id: int, started: int, now: float
    ) -> tuple[int, bool]:
        """Insert, or find the same play another process wrote meanwhile (same start time)."""
        row = self.store.conn.execute(
            "INSERT INTO plays (profile, item_id, watched_at, duration_ms, played_ms, percentage,"
            " source, created_at) VALUES (?, ?, ?, ?, ?, ?, 'stdin', ?)"
            " ON CONFLICT (profile, item_id, watched_at) DO NOTHING RETURNING id",
            (
                event.profile,
                item_id,
                started,
                event.duration_ms,
                event.played_ms(),
                event.played_percentage(),
                now,
            ),
        ).fetchone()
        if row is not None:
            return row[0], True
        existing = self.store.conn.execute(
            "SELECT id FROM plays WHERE profile = ? AND item_id = ? AND watched_at = ?",
            (event.profile, item_id, started),
        ).fetchone()
        return existing[0], False

    def _already_on(self, service: str, event: Event, item_id: int, started: int) -> bool:
        """The service already has this play (imported from it, or sent before). An item first
        seen in this run cannot be known to any service yet."""
        if item_id in self._items.created:
            return False
        return service_has_play(
            self.store.conn, event.profile, service, item_id, started, self._window(event)
        )
