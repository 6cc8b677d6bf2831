"""Finding or creating the item a play is of, by external ids first.

Video: TMDb, then IMDb, TVDB, Trakt, Simkl; an episode without ids of its own is its show's
(season, number). Titles never identify video. Music: recording MBID, then ISRC, then normalised
artist + title + album, recorded as a weak match.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from scrobctl.store.db import next_id

VIDEO_ID_ORDER = ("tmdb", "imdb", "tvdb", "trakt", "simkl")
CACHE_LIMIT = 20_000  # resolved refs kept; past that the cache starts over
MUSIC = ("track", "podcast")
_COLUMNS = (
    "kind, title, artist, album, year, show_id, season, number, duration_ms,"
    " tmdb, imdb, tvdb, trakt, simkl, mbid, isrc, weak_key, created_at, tmdb_from"
)
_MARKS = ", ".join("?" * 19)
_INSERT_ITEM = f"INSERT INTO items (id, {_COLUMNS}) VALUES (?, {_MARKS})"
# A new track without ids (most new items of a big input) names only the columns it can have:
# the twelve others are NULL, and a NULL bound is a slot filled and a parameter adapted.
_INSERT_TRACK = (
    "INSERT INTO items (id, kind, title, artist, album, year, duration_ms, weak_key, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


@dataclass(slots=True)
class ItemRef:
    """What one source says about an item; `kind`: track, podcast, movie, episode, show or
    season.

    A value: never changed once made (`dataclasses.replace` makes another). Not frozen, because
    a frozen dataclass takes three times as long to build, and `scrobble` builds one per line.
    """

    kind: str
    ids: dict[str, Any]
    title: str | None = None
    artist: str | None = None
    album: str | None = None
    year: int | None = None
    duration_ms: int | None = None
    show: ItemRef | None = None
    season: int | None = None
    number: int | None = None
    tmdb_from: str | None = None  # the id a TMDb look-up turned into ids["tmdb"] ("imdb:tt…")


def _norm(text: str) -> str:
    if text.isascii():  # NFKC leaves ASCII as it is, and its casefold is lower()
        return " ".join(text.lower().split())
    return _norm_unicode(text)


@functools.lru_cache(maxsize=4096)  # artist and album names repeat line after line
def _norm_unicode(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(folded.split())


# Artist and album names repeat line after line (titles seldom do): a remembered answer is
# about a third of normalising one again.
_norm_name = functools.lru_cache(maxsize=16_384)(_norm)


def weak_key(artist: str, title: str, album: str | None) -> str:
    """Case-, width- and space-insensitive key for music without ids."""
    return weak_key_parts(artist, title, album)[0]


def weak_key_parts(artist: str, title: str, album: str | None) -> tuple[str, str]:
    """The weak key, and the same without the album (`without_album` of it): a batch needs
    both for every track, and slicing the one out of the other was a tenth of its work."""
    bare = f"{_norm_name(artist)}\x1f{_norm(title)}\x1f"
    return bare + _norm_name(album or ""), bare


def after(bare: str) -> str:
    """The least text above every weak key that starts with `bare` (an artist and title and
    the separator): the same ending in a space, the character after the separator. (Not
    `bare + "\uffff"`: SQLite compares UTF-8 bytes, and an album may start above U+FFFF.)"""
    return bare[:-1] + " "


def without_album(key: str) -> str:
    """The weak key of the same artist and title with no album (it ends with the separator)."""
    return key[: key.rindex("\x1f") + 1]


EXTERNAL_IDS = (*VIDEO_ID_ORDER, "mbid", "isrc")
_NO_IDS = (None,) * len(EXTERNAL_IDS)  # EXTERNAL_IDS stand in _COLUMNS in this order


def items_with_id(
    conn: sqlite3.Connection, kind: str | None, name: str, value: Any
) -> list[sqlite3.Row]:
    """The items (id, kind, title, artist) whose external id `name` is `value`, of `kind`
    when one is given, oldest first: what `rate` and `explain` name an item by."""
    if name not in EXTERNAL_IDS:
        raise ValueError(f"not an external id: {name!r}")
    sql = f"SELECT id, kind, title, artist FROM items WHERE {name} = ?"
    args: list[object] = [value]
    if kind is not None:
        sql += " AND kind = ?"
        args.append(kind)
    return conn.execute(sql + " ORDER BY id", args).fetchall()


class ItemResolver:
    """Resolves refs to item ids, remembering answers for the rest of one ingest.

    `resolve_batch` is the fast path for many refs at once: one query finds the weak keys of
    items with the same artist and title as any of them, so music new to the database needs no
    query of its own, and the items it creates are written in one statement. Until then they
    are pending, and every other query of `items` writes them first.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._cache: dict[tuple[Any, ...], tuple[int, bool]] = {}
        self.created: set[int] = set()  # items inserted since the last forget()
        # For the current batch: the artist + title prefixes of its weak keys, the keys of
        # items that start with one of them, and the prefixes those keys have.
        self._probed: set[str] = set()
        self._present: set[str] = set()
        self._present_bare: set[str] = set()
        self._pending: list[tuple[Any, ...]] | None = None  # item rows, during a batch
        self._pending_tracks: list[tuple[Any, ...]] = []  # ... of _INSERT_TRACK
        self._next_id = 0
        self._now = 0.0

    def resolve(self, ref: ItemRef) -> tuple[int, bool]:
        """(item id, weak) for the ref, creating the item when nothing matches."""
        return self._resolve_cached(ref, self._cache_key(ref), None)

    def resolve_batch(self, refs: Sequence[ItemRef]) -> list[tuple[int, bool]]:
        """What `resolve` gives for each ref in turn. Call inside a write transaction (BEGIN
        IMMEDIATE): new items are given their ids here, which only the writer may do."""
        cache_keys: list[tuple[Any, ...]] = []
        # Each ref's (weak key, without album), when it is music not resolved yet: by
        # position, since each dictionary look-up hashes the cache key again.
        weak_keys: list[tuple[str, str] | None] = []
        cache = self._cache
        for ref in refs:
            cache_key = self._cache_key(ref)
            cache_keys.append(cache_key)
            weak_keys.append(
                weak_key_parts(ref.artist or "", ref.title or "", ref.album)
                if ref.kind in MUSIC and cache_key not in cache
                else None
            )
        self._probe({keys[1] for keys in weak_keys if keys is not None})
        self._next_id = next_id(self.conn, "items")
        self._now = time.time()  # the items' created_at
        self._pending = []
        try:
            resolved = [
                self._resolve_cached(ref, cache_key, keys)
                for ref, cache_key, keys in zip(refs, cache_keys, weak_keys, strict=True)
            ]
            self._write_pending()
            return resolved
        except BaseException:
            self.forget()  # the cache may name items that were never written
            raise
        finally:
            self._pending = None
            self._pending_tracks.clear()
            self._probed = set()
            self._present = set()
            self._present_bare = set()

    def forget(self) -> None:
        """Drop cached ids, e.g. after a rolled-back transaction."""
        self._cache.clear()
        self.created.clear()

    def _resolve_cached(
        self, ref: ItemRef, cache_key: tuple[Any, ...], keys: tuple[str, str] | None
    ) -> tuple[int, bool]:
        found = self._cache.get(cache_key)
        if found is None:
            if ref.kind in MUSIC:
                if keys is not None and not ref.ids and self._new_track(keys[1]):
                    # Most tracks of a big input: the batch's probe says that no item has its
                    # artist and title, so it is new (what _resolve_music finds too, without
                    # its calls).
                    found = self._insert_track(ref, *keys), True
                else:
                    found = self._resolve_music(ref, keys[0] if keys else None)
            else:
                found = self._resolve_video(ref), False
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()  # memory stays flat on any input size
            self._cache[cache_key] = found
        return found

    def _probe(self, probed: set[str]) -> None:
        """One range of the weak-key index per artist + title (`bare`, a weak key without
        its album), from it to `after()` it."""
        self._probed = probed
        self._present = set()
        if probed:
            rows = self.conn.execute(
                "SELECT i.weak_key FROM json_each(?) AS j JOIN items AS i"
                " ON i.weak_key >= j.value"
                " AND i.weak_key < substr(j.value, 1, length(j.value) - 1) || ' '",  # after()
                (json.dumps(list(probed)),),
            )
            self._present = {row[0] for row in rows}
        self._present_bare = {without_album(key) for key in self._present}

    def _absent(self, key: str) -> bool:
        """Known from the probe to belong to no item, pending ones included."""
        return without_album(key) in self._probed and key not in self._present

    def _new_track(self, bare: str) -> bool:
        """Known from the probe: no item, pending ones included, has this artist and title."""
        return bare in self._probed and bare not in self._present_bare

    def _query(self, sql: str, params: tuple[Any, ...]) -> sqlite3.Cursor:
        """Every statement on `items` but the batch insert: pending items must be seen."""
        self._write_pending()
        return self.conn.execute(sql, params)

    def _write_pending(self) -> None:
        if self._pending:
            self.conn.executemany(_INSERT_ITEM, self._pending)
            self._pending.clear()
        if self._pending_tracks:
            self.conn.executemany(_INSERT_TRACK, self._pending_tracks)
            self._pending_tracks.clear()

    @staticmethod
    def _cache_key(ref: ItemRef) -> tuple[Any, ...]:
        """Refs with the same key resolve alike: music by ids, artist, title and album; video
        by ids, show, season and number (the kinds differ, so the two never meet)."""
        ids = tuple(sorted(ref.ids.items())) if ref.ids else ()
        if ref.kind in MUSIC:
            return (ref.kind, ids, ref.artist, ref.title, ref.album)
        show = ItemResolver._cache_key(ref.show) if ref.show else None
        return (ref.kind, ids, show, ref.season, ref.number)

    def _find_by(self, kind: str, column: str, value: Any) -> int | None:
        row = self._query(
            f"SELECT id FROM items WHERE kind = ? AND {column} = ? ORDER BY id LIMIT 1",
            (kind, value),
        ).fetchone()
        return row[0] if row else None

    def _resolve_video(self, ref: ItemRef) -> int:
        for column in VIDEO_ID_ORDER:
            value = ref.ids.get(column)
            if value is not None:
                found = self._find_by(ref.kind, column, value)
                if found is not None:
                    self._fill_missing_ids(found, ref)
                    return found
        show_id = None
        if ref.kind == "season" and ref.show is not None:
            # A season (Trakt rates them) is its show's season number, as an episode is its
            # show's (season, number).
            show_id = self._resolve_video(ref.show)
            row = self._query(
                "SELECT id FROM items WHERE kind = 'season' AND show_id = ? AND season = ?"
                " ORDER BY id LIMIT 1",
                (show_id, ref.season),
            ).fetchone()
            if row:
                self._fill_missing_ids(row[0], ref)
                return row[0]
        if ref.kind == "episode" and ref.show is not None:
            show_id = self._resolve_video(ref.show)
            row = self._query(
                "SELECT id FROM items WHERE show_id = ? AND season = ? AND number = ? "
                "ORDER BY id LIMIT 1",
                (show_id, ref.season, ref.number),
            ).fetchone()
            if row:
                self._fill_missing_ids(row[0], ref)
                return row[0]
        return self._insert(ref, show_id=show_id)

    def _resolve_music(self, ref: ItemRef, key: str | None) -> tuple[int, bool]:
        for column in ("mbid", "isrc"):
            value = ref.ids.get(column)
            if value:
                found = self._find_by(ref.kind, column, value)
                if found is not None:
                    return found, False
        if key is None:
            key = weak_key(ref.artist or "", ref.title or "", ref.album)
        has_ids = bool(ref.ids.get("mbid") or ref.ids.get("isrc"))
        found = self._weak_match(ref, key, without_ids=has_ids)
        if found is None:
            return self._insert(ref, weak_key=key), not has_ids
        if has_ids:
            # An id-less item of the same track (imported from Last.fm, say) learns the id:
            # otherwise a player that sends MBIDs would queue the same listens again.
            self._query(
                "UPDATE items SET mbid = COALESCE(mbid, ?), isrc = COALESCE(isrc, ?) WHERE id = ?",
                (ref.ids.get("mbid"), ref.ids.get("isrc"), found),
            )
        return found, not has_ids

    def _weak_match(self, ref: ItemRef, key: str, *, without_ids: bool) -> int | None:
        """Same normalised artist + title (+ album). Where one side has no album (Last.fm often
        stores none, loves never carry one), the same artist and title is the same track."""
        only = " AND mbid IS NULL AND isrc IS NULL" if without_ids else ""
        exact = f"SELECT id FROM items WHERE weak_key = ? AND kind = ?{only} ORDER BY id LIMIT 1"
        row = None if self._absent(key) else self._query(exact, (key, ref.kind)).fetchone()
        bare = without_album(key)
        if row is None and ref.album and not self._absent(bare):
            row = self._query(exact, (bare, ref.kind)).fetchone()
        if row is None and not ref.album and not self._new_track(bare):
            row = self._query(
                "SELECT id FROM items WHERE weak_key >= ? AND weak_key < ? AND kind = ?"
                f"{only} ORDER BY id LIMIT 1",
                (bare, after(bare), ref.kind),
            ).fetchone()
        return row[0] if row else None

    def _fill_missing_ids(self, item_id: int, ref: ItemRef) -> None:
        """Learn ids the item lacked, unless another item already owns that id."""
        row = self._query("SELECT * FROM items WHERE id = ?", (item_id,)).fetchone()
        for column in VIDEO_ID_ORDER:
            value = ref.ids.get(column)
            if value is None or row[column] is not None:
                continue
            if self._find_by(ref.kind, column, value) is None:
                self._query(f"UPDATE items SET {column} = ? WHERE id = ?", (value, item_id))
                if column == "tmdb" and ref.tmdb_from:
                    self._query(
                        "UPDATE items SET tmdb_from = ? WHERE id = ?", (ref.tmdb_from, item_id)
                    )

    def _insert_track(self, ref: ItemRef, weak_key: str, bare: str) -> int:
        """A new track without ids, in a batch: pending, its id given here (its row built as
        one tuple: most lines of a big input make one)."""
        item_id = self._next_id
        self._next_id += 1
        self._pending_tracks.append(
            (
                item_id,
                ref.kind,
                ref.title,
                ref.artist,
                ref.album,
                ref.year,
                ref.duration_ms,
                weak_key,
                self._now,
            )
        )
        self._present.add(weak_key)
        self._present_bare.add(bare)
        self.created.add(item_id)
        return item_id

    def _insert(
        self,
        ref: ItemRef,
        *,
        show_id: int | None = None,
        weak_key: str | None = None,
    ) -> int:
        """A new item: pending in a batch (its id given here), else written at once (its id
        given by SQLite, for a NULL id)."""
        ids = ref.ids
        pending = self._pending
        row = (
            None if pending is None else self._next_id,
            ref.kind,
            ref.title,
            ref.artist,
            ref.album,
            ref.year,
            show_id,
            ref.season,
            ref.number,
            ref.duration_ms,
            *(map(ids.get, EXTERNAL_IDS) if ids else _NO_IDS),
            weak_key,
            time.time() if pending is None else self._now,
            ref.tmdb_from,
        )
        if pending is None:
            cursor = self.conn.execute(_INSERT_ITEM, row)
            assert cursor.lastrowid is not None
            item_id = cursor.lastrowid
        else:
            item_id = self._next_id
            self._next_id += 1
            pending.append(row)
            if weak_key is not None:
                self._present.add(weak_key)
                self._present_bare.add(without_album(weak_key))
        self.created.add(item_id)
        return item_id
