"""Finding or creating the item a play is of, by external ids first.

Video: TMDb, then IMDb, TVDB, Trakt, Simkl; an episode without ids of its own is its show's
(season, number). Titles never identify video. Music: recording MBID, then ISRC, then normalised
artist + title + album, recorded as a weak match.
"""

from __future__ import annotations

import sqlite3
import time
import unicodedata
from dataclasses import dataclass
from typing import Any

VIDEO_ID_ORDER = ("tmdb", "imdb", "tvdb", "trakt", "simkl")
CACHE_LIMIT = 20_000  # resolved refs kept; past that the cache starts over


@dataclass(frozen=True, slots=True)
class ItemRef:
    """What one source says about an item; `kind`: track, podcast, movie, episode or show."""

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


def weak_key(artist: str, title: str, album: str | None) -> str:
    """Case-, width- and space-insensitive key for music without ids."""

    def norm(text: str | None) -> str:
        folded = unicodedata.normalize("NFKC", text or "").casefold()
        return " ".join(folded.split())

    return "\x1f".join((norm(artist), norm(title), norm(album)))


class ItemResolver:
    """Resolves refs to item ids, remembering answers for the rest of one ingest."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._cache: dict[tuple[Any, ...], tuple[int, bool]] = {}
        self.created: set[int] = set()  # items inserted since the last forget()

    def resolve(self, ref: ItemRef) -> tuple[int, bool]:
        """(item id, weak) for the ref, creating the item when nothing matches."""
        key = self._cache_key(ref)
        found = self._cache.get(key)
        if found is None:
            found = self._resolve(ref)
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()  # memory stays flat on any input size
            self._cache[key] = found
        return found

    def forget(self) -> None:
        """Drop cached ids, e.g. after a rolled-back transaction."""
        self._cache.clear()
        self.created.clear()

    @staticmethod
    def _cache_key(ref: ItemRef) -> tuple[Any, ...]:
        show = ItemResolver._cache_key(ref.show) if ref.show else None
        music = (ref.artist, ref.title, ref.album) if ref.kind in ("track", "podcast") else None
        return (ref.kind, tuple(sorted(ref.ids.items())), show, ref.season, ref.number, music)

    def _resolve(self, ref: ItemRef) -> tuple[int, bool]:
        if ref.kind in ("track", "podcast"):
            return self._resolve_music(ref)
        return self._resolve_video(ref), False

    def _find_by(self, kind: str, column: str, value: Any) -> int | None:
        row = self.conn.execute(
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
        if ref.kind == "episode" and ref.show is not None:
            show_id = self._resolve_video(ref.show)
            row = self.conn.execute(
                "SELECT id FROM items WHERE show_id = ? AND season = ? AND number = ? "
                "ORDER BY id LIMIT 1",
                (show_id, ref.season, ref.number),
            ).fetchone()
            if row:
                self._fill_missing_ids(row[0], ref)
                return row[0]
        return self._insert(ref, show_id=show_id)

    def _resolve_music(self, ref: ItemRef) -> tuple[int, bool]:
        for column in ("mbid", "isrc"):
            value = ref.ids.get(column)
            if value:
                found = self._find_by(ref.kind, column, value)
                if found is not None:
                    return found, False
        key = weak_key(ref.artist or "", ref.title or "", ref.album)
        has_ids = bool(ref.ids.get("mbid") or ref.ids.get("isrc"))
        found = self._weak_match(ref, key, without_ids=has_ids)
        if found is None:
            return self._insert(ref, weak_key=key), not has_ids
        if has_ids:
            # An id-less item of the same track (imported from Last.fm, say) learns the id:
            # otherwise a player that sends MBIDs would queue the same listens again.
            self.conn.execute(
                "UPDATE items SET mbid = COALESCE(mbid, ?), isrc = COALESCE(isrc, ?) WHERE id = ?",
                (ref.ids.get("mbid"), ref.ids.get("isrc"), found),
            )
        return found, not has_ids

    def _weak_match(self, ref: ItemRef, key: str, *, without_ids: bool) -> int | None:
        """Same normalised artist + title (+ album). Where one side has no album (Last.fm often
        stores none, loves never carry one), the same artist and title is the same track."""
        only = " AND mbid IS NULL AND isrc IS NULL" if without_ids else ""
        row = self.conn.execute(
            f"SELECT id FROM items WHERE weak_key = ? AND kind = ?{only} ORDER BY id LIMIT 1",
            (key, ref.kind),
        ).fetchone()
        bare = weak_key(ref.artist or "", ref.title or "", None)  # ends with the separator
        if row is None and ref.album:
            row = self.conn.execute(
                f"SELECT id FROM items WHERE weak_key = ? AND kind = ?{only} ORDER BY id LIMIT 1",
                (bare, ref.kind),
            ).fetchone()
        if row is None and not ref.album:
            row = self.conn.execute(
                "SELECT id FROM items WHERE weak_key >= ? AND weak_key < ? AND kind = ?"
                f"{only} ORDER BY id LIMIT 1",
                (bare, bare + "\uffff", ref.kind),
            ).fetchone()
        return row[0] if row else None

    def _fill_missing_ids(self, item_id: int, ref: ItemRef) -> None:
        """Learn ids the item lacked, unless another item already owns that id."""
        row = self.conn.execute("SELECT * FROM items WHERE id = ?", (item_id,)).fetchone()
        for column in VIDEO_ID_ORDER:
            value = ref.ids.get(column)
            if value is None or row[column] is not None:
                continue
            if self._find_by(ref.kind, column, value) is None:
                self.conn.execute(f"UPDATE items SET {column} = ? WHERE id = ?", (value, item_id))

    def _insert(
        self, ref: ItemRef, *, show_id: int | None = None, weak_key: str | None = None
    ) -> int:
        cursor = self.conn.execute(
            "INSERT INTO items (kind, title, artist, album, year, show_id, season, number,"
            " duration_ms, tmdb, imdb, tvdb, trakt, simkl, mbid, isrc, weak_key, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                ref.kind,
                ref.title,
                ref.artist,
                ref.album,
                ref.year,
                show_id,
                ref.season,
                ref.number,
                ref.duration_ms,
                ref.ids.get("tmdb"),
                ref.ids.get("imdb"),
                ref.ids.get("tvdb"),
                ref.ids.get("trakt"),
                ref.ids.get("simkl"),
                ref.ids.get("mbid"),
                ref.ids.get("isrc"),
                weak_key,
                time.time(),
            ),
        )
        assert cursor.lastrowid is not None
        self.created.add(cursor.lastrowid)
        return cursor.lastrowid
