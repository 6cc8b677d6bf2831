"""What `explain` reads: a play or an item, the rule that identifies the item, the items it
could have been, and each target's jobs for the play.

The rules are those of `store/items.py`, in its order: video by TMDb, IMDb, TVDB, Trakt, Simkl
id (an episode without ids of its own by its show's season and number); music by MusicBrainz
recording id, then ISRC, then normalised artist + title (+ album), a weak match. An item whose
TMDb id an import looked up (`items.tmdb_from`) was matched through that look-up.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from scrobctl.store.items import (
    MUSIC,
    VIDEO_ID_ORDER,
    ItemRef,
    after,
    items_with_id,
    weak_key,
    without_album,
)
from scrobctl.store.names import VIDEO_IDS, item_name

EXACT = "exact id"
WEAK = "weak"
TMDB_LOOKUP = "TMDb look-up"
EPISODE = "episode by number"
NEW = "new item"
ID_NAMES = {
    "tmdb": "TMDb",
    "imdb": "IMDb",
    "tvdb": "TVDB",
    "trakt": "Trakt",
    "simkl": "Simkl",
    "mbid": "MusicBrainz recording",
    "isrc": "ISRC",
}
CANDIDATE_LIMIT = 20


@dataclass
class Match:
    rule: str
    detail: str


@dataclass
class ItemView:
    id: int
    kind: str
    label: str
    ids: dict[str, Any]
    plays: int = 0
    why: str | None = None  # for a candidate: what it shares with the item


@dataclass
class TargetView:
    service: str
    job: str | None  # scrobble | unscrobble | None (imported: the target had it already)
    state: str | None
    attempts: int | None
    max_attempts: int | None
    outcome: str | None
    has_it: bool
    target_id: str | None = None
    reason: str | None = None


@dataclass
class PlayView:
    id: int
    profile: str
    watched_at: int
    source: str | None
    duration_ms: int | None
    played_ms: int | None
    percentage: float | None


@dataclass
class Explanation:
    item: ItemView | None
    match: Match
    play: PlayView | None = None
    candidates: list[ItemView] = field(default_factory=list)
    targets: list[TargetView] = field(default_factory=list)
    plays: list[PlayView] = field(default_factory=list)  # for an item: its latest plays


# An item's plays in every profile, through the unique (profile, item_id, watched_at) index:
# the profiles are found by seeking (min, then the next greater), one search each, where
# `WHERE item_id = ?` alone read every play of the archive (issue #25).
PLAY_COUNT = (
    "(WITH RECURSIVE profiles(name) AS (SELECT min(profile) FROM plays UNION ALL"
    " SELECT (SELECT min(profile) FROM plays WHERE profile > name) FROM profiles"
    " WHERE name IS NOT NULL)"
    " SELECT count(*) FROM plays WHERE profile IN (SELECT name FROM profiles)"
    " AND item_id = i.id)"
)


def _item_row(conn: sqlite3.Connection, item_id: int) -> sqlite3.Row | None:
    return conn.execute(
        "SELECT i.*, s.title AS show_title, s.tmdb AS s_tmdb, s.imdb AS s_imdb,"
        " s.tvdb AS s_tvdb, s.trakt AS s_trakt, s.simkl AS s_simkl,"
        " " + PLAY_COUNT + " AS play_count"
        " FROM items i LEFT JOIN items s ON s.id = i.show_id WHERE i.id = ?",
        (item_id,),
    ).fetchone()


def label(row: sqlite3.Row) -> str:
    """The item as every list names it (names.item_name: never `?`), with an album or a
    year to tell candidates apart."""
    keys = row.keys()
    show = row["show_title"] if "show_title" in keys else None
    ids = {k: row[k] for k in VIDEO_IDS if row[k] is not None}
    if not ids and "s_tmdb" in keys:
        ids = {k: row[f"s_{k}"] for k in VIDEO_IDS if row[f"s_{k}"] is not None}
    name = item_name(
        row["kind"], row["title"], row["artist"], show, row["season"], row["number"], ids
    )
    if row["kind"] in MUSIC:
        return f"{name} ({row['album']})" if row["album"] else name
    if row["kind"] == "movie" and row["year"] and row["title"]:
        return f"{name} ({row['year']})"
    return name


def _ids(row: sqlite3.Row) -> dict[str, Any]:
    return {k: row[k] for k in (*VIDEO_IDS, "mbid", "isrc") if row[k] is not None}


def _view(row: sqlite3.Row, why: str | None = None) -> ItemView:
    plays = row["play_count"] if "play_count" in row.keys() else 0  # noqa: SIM118
    return ItemView(row["id"], row["kind"], label(row), _ids(row), plays, why)


def stored_match(row: sqlite3.Row) -> Match:
    """The rule by which plays find this item."""
    if row["kind"] in MUSIC:
        for name in ("mbid", "isrc"):
            if row[name]:
                return Match(EXACT, f"{ID_NAMES[name]} id {row[name]}")
        return Match(
            WEAK,
            "no MusicBrainz id or ISRC: known by its artist and title (and album, where both "
            "sides have one), compared without case, width or spacing",
        )
    for name in VIDEO_ID_ORDER:
        if row[name] is not None:
            if name == "tmdb" and row["tmdb_from"]:
                return Match(
                    TMDB_LOOKUP,
                    f"an import's {row['tmdb_from']} was looked up on TMDb: tmdb {row['tmdb']}",
                )
            return Match(EXACT, f"{ID_NAMES[name]} id {row[name]}")
    if row["kind"] == "episode" and row["show_id"] is not None:
        show_ids = {k: row[f"s_{k}"] for k in VIDEO_IDS if row[f"s_{k}"] is not None}
        shown = ", ".join(f"{k} {v}" for k, v in show_ids.items()) or "no ids"
        return Match(
            EPISODE,
            f"no ids of its own: season {row['season']} episode {row['number']} of its show"
            f" ({shown})",
        )
    return Match(NEW, "no ids at all: every play of it made a new item")


def candidates(conn: sqlite3.Connection, row: sqlite3.Row) -> list[ItemView]:
    """Other items a play of this one could have been: for music the same artist and title
    (any album), for video the same title (and year) or a shared id."""
    found: dict[int, ItemView] = {}
    if row["kind"] in MUSIC:
        bare = without_album(weak_key(row["artist"] or "", row["title"] or "", None))
        rows = conn.execute(
            "SELECT i.*, " + PLAY_COUNT + " AS play_count"
            " FROM items i WHERE weak_key >= ? AND weak_key < ? AND kind = ? AND id != ?"
            " ORDER BY id LIMIT ?",
            (bare, after(bare), row["kind"], row["id"], CANDIDATE_LIMIT),
        )
        for other in rows:
            found[other["id"]] = _view(other, "same artist and title")
    else:
        rows = conn.execute(
            "SELECT i.*, s.title AS show_title,"
            " " + PLAY_COUNT + " AS play_count"
            " FROM items i LEFT JOIN items s ON s.id = i.show_id"
            " WHERE i.kind = ? AND i.id != ? AND i.title = ? COLLATE NOCASE"
            " AND (i.show_id IS ? OR ? != 'episode') ORDER BY i.id LIMIT ?",
            (row["kind"], row["id"], row["title"], row["show_id"], row["kind"], CANDIDATE_LIMIT),
        )
        for other in rows:
            same_year = other["year"] == row["year"]
            found[other["id"]] = _view(other, "same title" + (" and year" if same_year else ""))
    return list(found.values())


def _play_view(row: sqlite3.Row) -> PlayView:
    return PlayView(
        row["id"],
        row["profile"],
        row["watched_at"],
        row["source"],
        row["duration_ms"],
        row["played_ms"],
        row["percentage"],
    )


def targets(conn: sqlite3.Connection, play: sqlite3.Row) -> list[TargetView]:
    """Each target's jobs for the play (scrobble, and unscrobble for a play kept with
    --from), and whether the archive records the target as having it."""
    held = {
        r["service"]: r
        for r in conn.execute(
            "SELECT service, source, remote_id FROM scrobbles WHERE profile = ? AND item_id = ?"
            " AND scrobbled_at = ?",
            (play["profile"], play["item_id"], play["watched_at"]),
        )
    }
    jobs = conn.execute(
        "SELECT * FROM jobs WHERE play_id = ? OR (kind = 'unscrobble' AND item_id = ?"
        " AND profile = ? AND json_extract(payload, '$.watched_at') = ?) ORDER BY service, id",
        (play["id"], play["item_id"], play["profile"], play["watched_at"]),
    ).fetchall()
    views: list[TargetView] = []
    for job in jobs:
        errors = json.loads(job["errors"] or "[]")
        kept = held.get(job["service"])
        views.append(
            TargetView(
                service=job["service"],
                job=job["kind"],
                state=job["state"],
                attempts=job["attempt"],
                max_attempts=job["max_attempts"],
                outcome=job["outcome"],
                has_it=kept is not None,
                target_id=kept["remote_id"] if kept is not None else None,
                reason=errors[-1]["error"] if errors and job["state"] != "completed" else None,
            )
        )
    with_jobs = {v.service for v in views}
    for service, kept in sorted(held.items()):
        if service not in with_jobs:
            views.append(
                TargetView(
                    service, None, None, None, None, f"{kept['source']}", True, kept["remote_id"]
                )
            )
    return views


def explain_play(conn: sqlite3.Connection, play_id: int) -> Explanation | None:
    play = conn.execute("SELECT * FROM plays WHERE id = ?", (play_id,)).fetchone()
    if play is None:
        return None
    row = _item_row(conn, play["item_id"])
    assert row is not None  # plays.item_id is a foreign key
    return Explanation(
        item=_view(row),
        match=stored_match(row),
        play=_play_view(play),
        candidates=candidates(conn, row),
        targets=targets(conn, play),
    )


def find_items(conn: sqlite3.Connection, kind: str | None, name: str, value: Any) -> list[int]:
    return [r["id"] for r in items_with_id(conn, kind, name, value)]


def explain_item(conn: sqlite3.Connection, item_id: int, plays: int = 10) -> Explanation | None:
    row = _item_row(conn, item_id)
    if row is None:
        return None
    latest = conn.execute(
        "SELECT * FROM plays WHERE item_id = ? ORDER BY watched_at DESC LIMIT ?", (item_id, plays)
    ).fetchall()
    explanation = Explanation(
        item=_view(row),
        match=stored_match(row),
        candidates=candidates(conn, row),
        plays=[_play_view(p) for p in latest],
    )
    for play in latest:
        explanation.targets.extend(targets(conn, play))
    return explanation


def explain_ref(conn: sqlite3.Connection, ref: ItemRef) -> Explanation:
    """Which item a playback event would be recorded as, by the resolver's own order, without
    writing anything: the first id that finds an item, the show's season and number, or the
    weak key; none of them is a new item."""
    if ref.kind in MUSIC:
        for name in ("mbid", "isrc"):
            value = ref.ids.get(name)
            if value:
                found = find_items(conn, ref.kind, name, value)
                if found:
                    return _for(conn, found[0], Match(EXACT, f"{ID_NAMES[name]} id {value}"))
        key = weak_key(ref.artist or "", ref.title or "", ref.album)
        bare = without_album(key)
        row = conn.execute(
            "SELECT id FROM items WHERE kind = ? AND (weak_key = ? OR weak_key = ?"
            " OR (? = '' AND weak_key >= ? AND weak_key < ?)) ORDER BY weak_key != ?, id LIMIT 1",
            (ref.kind, key, bare, ref.album or "", bare, after(bare), key),
        ).fetchone()
        detail = (
            "no MusicBrainz id or ISRC: matched by artist and title (album where both have one)"
        )
        if row is not None:
            return _for(conn, row[0], Match(WEAK, detail))
        return Explanation(None, Match(NEW, "no item has these ids or this artist and title"))
    for name in VIDEO_ID_ORDER:
        value = ref.ids.get(name)
        if value is not None:
            found = find_items(conn, ref.kind, name, value)
            if found:
                return _for(conn, found[0], Match(EXACT, f"{ID_NAMES[name]} id {value}"))
    if ref.kind == "episode" and ref.show is not None:
        for name in VIDEO_ID_ORDER:
            value = ref.show.ids.get(name)
            shows = find_items(conn, "show", name, value) if value is not None else []
            if not shows:
                continue
            row = conn.execute(
                "SELECT id FROM items WHERE show_id = ? AND season = ? AND number = ?"
                " ORDER BY id LIMIT 1",
                (shows[0], ref.season, ref.number),
            ).fetchone()
            if row is not None:
                detail = f"season {ref.season} episode {ref.number} of the show ({name} {value})"
                return _for(conn, row[0], Match(EPISODE, detail))
    return Explanation(None, Match(NEW, "no item has these ids (titles never identify video)"))


def _for(conn: sqlite3.Connection, item_id: int, match: Match) -> Explanation:
    explanation = explain_item(conn, item_id, plays=0)
    assert explanation is not None
    explanation.match = match
    return explanation
