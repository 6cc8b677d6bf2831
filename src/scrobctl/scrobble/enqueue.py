"""From parsed events to plays and queued jobs, with thresholds and duplicate detection.

A play is the same play when it is of the same item, for the same profile, starting less than half
its length from another one: a re-sent stop event, progress pings every few seconds and the same
file piped again all land inside that window, while listening to a track again cannot.
"""

from __future__ import annotations

import time
from bisect import bisect_right, insort
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from scrobctl.scrobble.events import PAUSE, Event, Line, Pause
from scrobctl.scrobble.rules import NeedsDuration, below_threshold, in_future
from scrobctl.store.db import Store, cache_size, checkpoint_every, data_version
from scrobctl.store.history import half_length_window, service_has_play
from scrobctl.store.items import ItemRef, ItemResolver
from scrobctl.store.pending import PendingPlays
from scrobctl.store.plays import has_plays, nearest_play
from scrobctl.store.queue import insert_scrobble_job
from scrobctl.store.ratings import LOCAL, set_rating

COMMIT_EVERY = 1000  # lines per transaction: fast, and a crash loses at most this many
# ... for an input that says where it pauses (stdin): what arrived is committed at each pause,
# so only an input that keeps coming waits for this many, and larger is cheaper.
COMMIT_EVERY_PAUSED = 10_000
WAL_CHECKPOINT_PAGES = 10_000
CACHE_KIB = 64 * 1024  # SQLite's page cache during an ingest
FRESH_LIMIT = 20_000  # items whose plays are tracked in memory during one ingest
FRESH_PLAYS = 100_000  # ... and their plays (an export plays one track hundreds of times)

# What happened to a line that added no play: (line, outcome, reason). Outcomes: "invalid",
# "below_threshold", "duplicate", "not_a_play".
OnSkip = Callable[[Line, str, str], None]
# The counts a summary reports, in this order (README "JSON output").
OUTCOMES = ("queued", "recorded_only", "below_threshold", "duplicate", "not_a_play", "rated")


@dataclass
class IngestSummary:
    queued: int = 0
    recorded_only: int = 0
    below_threshold: int = 0
    duplicate: int = 0
    not_a_play: int = 0
    rated: int = 0
    ratings_known: int = 0  # of `rated`: the source had given that rating already
    rating_only: int = 0
    # Lines whose item was matched by a strong id, or by artist and title (music without ids).
    by_id: int = 0
    by_title: int = 0
    invalid: list[tuple[int, str]] = field(default_factory=list)
    jobs: dict[str, int] = field(default_factory=dict)
    # Plays recorded with no target to send them to, per (profile, type): said on stderr.
    unrouted: dict[tuple[str, str], int] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """What became of the lines, by outcome: `scrobble --json` and a webhook's answer."""
        return {name: getattr(self, name) for name in OUTCOMES}

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
        mbid, isrc = event.ids.mbid, event.ids.isrc
        ids = {}
        if mbid or isrc:
            ids = {k: v for k, v in (("mbid", mbid), ("isrc", isrc)) if v}
        # (kind, ids, title, artist, album, year, duration_ms) by position: one per line
        return ItemRef(
            event.type, ids, event.title, event.artist, event.album, None, event.duration_ms
        )
    show = None
    # A season is its show's season number (as an episode is its show's season and number);
    # a season known by its own ids only is not tied to a show without ids.
    by_show = event.show is not None and (event.type == "episode" or bool(event.show.ids.video()))
    if event.type in ("episode", "season") and event.show is not None and by_show:
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


@dataclass(slots=True)
class _Wanted:
    """A line's rating and, when `started` is set, its play, waiting for the item's id."""

    event: Event
    started: int | None
    line: Line | None = None


_NO_ROUTES: dict[str, list[str]] = {}


def _chunks(lines: Iterable[Line | Pause], size: int) -> Iterator[list[Line]]:
    """Lists of `size` lines, or of those before a pause."""
    chunk: list[Line] = []
    for line in lines:
        if line is PAUSE:
            if chunk:
                yield chunk
                chunk = []
            continue
        chunk.append(line)  # type: ignore[arg-type]
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _at(entry: tuple[int, int]) -> int:
    return entry[0]


def watched_at(event: Event, now: float) -> int:
    """When playback began: given, or now minus what was played."""
    if event.watched_at is not None:
        return event.watched_at
    return int(now - (event.played_ms() or 0) / 1000)


class Ingest:
    """Feeds lines into the store; `routes` is {profile: {type: [services]}}.

    A source other than stdin names itself in `source` (recorded on each new play) and
    `rating_source`; one whose rows carry no media length (an export file) brings its own
    threshold `rule`, one whose times are whole minutes its `precision`. `on_skip` hears of
    every line that added no play.
    """

    def __init__(
        self,
        store: Store,
        routes: dict[str, dict[str, list[str]]],
        *,
        dry_run: bool = False,
        now: float | None = None,
        source: str = "stdin",
        rating_source: str = LOCAL,
        rule: Callable[[Event], str | None] = below_threshold,
        on_skip: OnSkip | None = None,
        precision: int = 0,
        commit_every: int | None = None,
    ) -> None:
        self.store = store
        self.routes = routes
        self.dry_run = dry_run
        self.now = now
        self.source = source
        self.rating_source = rating_source
        self.rule = rule
        self.on_skip = on_skip
        self.precision = precision  # seconds the input's times may be off (minutes only: 60)
        self.commit_every = commit_every or COMMIT_EVERY
        self.summary = IngestSummary()
        self.starts: dict[str, Event] = {}  # the latest start event of each profile
        self._items = ItemResolver(store.conn)
        self._pending = PendingPlays(store.conn)
        # (profile, item) -> [(watched_at, play id)] in time order, for items without plays
        # before this run (searched by bisection: an export plays one track hundreds of times)
        self._fresh: dict[tuple[str, int], list[tuple[int, int]]] = {}
        self._stored: set[tuple[str, int]] = set()  # items that had plays before this run
        self._fresh_plays = 0
        self._data_version: int | None = None

    def run(self, lines: Iterable[Line | Pause]) -> IngestSummary:
        """One transaction per COMMIT_EVERY lines, begun once they have been read, so that
        input that trickles in never keeps `flush` or another `scrobble` waiting. Lines with
        pauses (`read_events_and_pauses`) are committed at each pause too, COMMIT_EVERY_PAUSED
        at most at once: a pipe that trickles never holds a read play uncommitted. A dry run is
        one transaction, rolled back at the end, so that it counts duplicates across the whole
        input exactly as a real run would."""
        # Copy the write-ahead log into the database every ~40 MB rather than every ~4 MB: a
        # big input rewrites the same index pages in commit after commit, and each copy of a
        # page costs the same however often it changed.
        checkpoint_every(self.store.conn, WAL_CHECKPOINT_PAGES)
        # Keep the indexes' pages in memory for the run (SQLite's default is 2 MiB): a big
        # input inserts into the weak-key index at random, and each page read again from the
        # file is a system call (about 0.3 s of CPU per 100,000 lines).
        cache_before = cache_size(self.store.conn, -CACHE_KIB)
        try:
            if self.dry_run:
                with self.store.transaction(dry_run=True):
                    self._begun()
                    for chunk in _chunks(lines, self.commit_every):
                        self._write(chunk)
            else:
                for chunk in _chunks(lines, self.commit_every):
                    with self.store.transaction():
                        self._begun()
                        self._write(chunk)
        except BaseException:
            self._pending.discard()
            self._forget()
            raise
        finally:
            cache_size(self.store.conn, cache_before)
        self._forget()
        return self.summary

    def _write(self, chunk: list[Line]) -> None:
        self._chunk(chunk)
        self._pending.write()

    def _begun(self) -> None:
        """Right after a write transaction began. What this run knows of earlier plays holds
        only while no other process writes: another `scrobble` between two of our
        transactions may have added plays of the same items, so then it is asked again."""
        self._pending.begin()
        version = data_version(self.store.conn)
        if self._data_version is not None and version != self._data_version:
            self._fresh.clear()
            self._stored.clear()
            self._items.created.clear()
        self._data_version = version

    def _forget(self) -> None:
        self._items.forget()
        self._fresh.clear()
        self._stored.clear()

    def _chunk(self, lines: list[Line]) -> None:
        """Check every line, resolve the items of those that need one in a batch, then record."""
        now = self.now if self.now is not None else time.time()
        self._bound()
        check = self._check
        wanted = [w for line in lines if (w := check(line, now)) is not None]
        items = self._items.resolve_batch([item_ref(w.event) for w in wanted])
        by_title = sum(weak for _, weak in items)
        self.summary.by_title += by_title
        self.summary.by_id += len(items) - by_title
        for w, (item_id, _) in zip(wanted, items, strict=True):
            self._record(w, item_id, now)

    def _bound(self) -> None:
        """Bounded memory, between chunks; forgotten items are simply asked again. Items made
        in this run are forgotten as made too: their plays so far are no longer known here.
        (Between chunks, so that the items of the chunk being recorded stay known as new.)"""
        if len(self._fresh) + len(self._stored) >= FRESH_LIMIT or self._fresh_plays >= FRESH_PLAYS:
            self._fresh.clear()
            self._stored.clear()
            self._items.created.clear()
            self._fresh_plays = 0

    def _check(self, line: Line, now: float) -> _Wanted | None:
        """What of the line is to be recorded: a rating, a play, both, or nothing (counted)."""
        summary = self.summary
        event = line.event
        if event is None:
            self._invalid(line, line.error or "invalid")
            return None
        rating = _Wanted(event, None, line) if event.rating is not None else None
        if rating is not None and event.percentage is None and event.watched_ms is None:
            return rating  # a rating, not a play
        if event.event != "stop":
            summary.not_a_play += 1
            self._skipped(line, "not_a_play", f"a {event.event} event")
            if event.event == "start":
                self.starts[event.profile] = event
            return rating
        try:
            reason = self.rule(event)
        except NeedsDuration as exc:
            self._invalid(line, str(exc))
            return rating
        if reason is not None:
            summary.below_threshold += 1
            self._skipped(line, "below_threshold", reason)
            return rating
        started = watched_at(event, now)
        if in_future(started, now):
            self._invalid(line, "watched_at is in the future")
            return rating
        return _Wanted(event, started, line)

    def _invalid(self, line: Line, reason: str) -> None:
        self.summary.invalid.append((line.number, reason))
        self._skipped(line, "invalid", reason)

    def _skipped(self, line: Line | None, outcome: str, reason: str) -> None:
        if self.on_skip is not None and line is not None:
            self.on_skip(line, outcome, reason)

    def _record(self, wanted: _Wanted, item_id: int, now: float) -> None:
        summary = self.summary
        event = wanted.event
        if event.rating is not None:
            rated_at = event.watched_at if event.watched_at is not None else int(now)
            changed = set_rating(
                self.store.conn, event.profile, item_id, event.rating, rated_at, self.rating_source
            )
            summary.rated += 1
            summary.ratings_known += not changed
            if wanted.started is None and event.percentage is None and event.watched_ms is None:
                summary.rating_only += 1
        started = wanted.started
        if started is None:
            return
        played = event.played_ms()
        length = event.duration_ms or played
        window = max(half_length_window(length, event.type), self.precision + 1)
        play_id, is_new = self._play(event, item_id, started, window, played, now)
        services = self.routes.get(event.profile, _NO_ROUTES).get(event.type, ())
        # An item first seen in this run cannot be known to any service yet.
        known = item_id not in self._items.created
        added = 0
        for service in services:
            if known and service_has_play(
                self.store.conn, event.profile, service, item_id, started, window
            ):
                continue  # the service already has it (imported from it, or sent before)
            if (
                self._pending.add_job(service, event.profile, play_id, now)
                if is_new or self._pending.holds(play_id)  # a new play is pending
                else self._insert_job(service, event.profile, play_id, now)
            ):
                added += 1
                summary.jobs[service] = summary.jobs.get(service, 0) + 1
        if added:
            summary.queued += 1
        elif is_new and not services:
            summary.recorded_only += 1
            key = (event.profile, event.type)
            summary.unrouted[key] = summary.unrouted.get(key, 0) + 1
        else:  # seen before, or every service already has it (imported or sent)
            summary.duplicate += 1
            self._skipped(wanted.line, "duplicate", "already in the archive")

    def _insert_job(self, service: str, profile: str, play_id: int, now: float) -> bool:
        """Queue a written play for the service once; False when that job already exists.
        (A pending play's job waits with it: PendingPlays.add_job.)"""
        self._pending.write()
        return insert_scrobble_job(self.store.conn, service, profile, play_id, now)

    def _play(
        self, event: Event, item_id: int, started: int, window: int, played: int | None, now: float
    ) -> tuple[int, bool]:
        """The play's id, and whether it is new. Items with no plays before this run (most
        lines of a big input) are checked against this run's plays in memory, others in the
        database. A new play waits to be written with the rest of its batch."""
        key = (event.profile, item_id)
        fresh = self._fresh.get(key)
        if fresh is None and key not in self._stored:
            if item_id in self._items.created or not self._has_plays(key):
                fresh = self._fresh[key] = []
            else:
                self._stored.add(key)
        if fresh:
            i = bisect_right(fresh, started - window, key=_at)
            if i < len(fresh) and fresh[i][0] < started + window:
                return fresh[i][1], False
        elif fresh is None:
            self._pending.write()
            found = nearest_play(self.store.conn, event.profile, item_id, started, window)
            if found is not None:
                return found[0], False
        play_id = self._pending.add_play(
            event.profile,
            item_id,
            started,
            event.duration_ms,
            played,
            event.played_percentage(),
            self.source,
            now,
        )
        if fresh is not None:
            insort(fresh, (started, play_id))
            self._fresh_plays += 1
        return play_id, True

    def _has_plays(self, key: tuple[str, int]) -> bool:
        self._pending.write()
        return has_plays(self.store.conn, *key)
