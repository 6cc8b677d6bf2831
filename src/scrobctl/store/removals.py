"""Unscrobbling: taking a play out of the archive and queueing its removal from the targets.

A removal is a job of kind `unscrobble` that carries what the target needs to find the play
(its time and, where known, the target's own id for it) in `payload`, because the play row itself
is gone by the time the job is sent. Everything for one play happens in one transaction: the
play, its scrobble jobs and its `scrobbles` rows go, and the removal jobs come, together.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from scrobctl.store.db import Store
from scrobctl.store.names import VIDEO_IDS, item_name
from scrobctl.store.queue import MAX_ATTEMPTS, SCROBBLE, job_rows, play_record
from scrobctl.store.records import PlayRecord
from scrobctl.store.stats import forget_play, forget_scrobble, lower_marks

UNSCROBBLE = "unscrobble"
PENDING_STATES = ("available", "retryable")

# What happens to a play on one target.
DROPPED = "dropped"  # not sent yet: its job left the queue
QUEUED = "queued"  # the target has it: a removal job was queued
MANUAL = "manual"  # the target has it and offers no way to remove it (Last.fm)
NEVER_SENT = "never sent"  # its job had failed or been refused: the target never had it


@dataclass(frozen=True)
class TargetStep:
    service: str
    action: str
    job_id: int | None = None


@dataclass
class PlayRemoval:
    play_id: int
    found: bool = True
    profile: str = ""
    item_id: int = 0
    kind: str = ""
    watched_at: int = 0
    steps: list[TargetStep] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)  # targets a flush is sending it to right now
    kept_in_archive: bool = False


def unscrobble_key(service: str, profile: str, item_id: int, watched_at: int) -> str:
    return f"{UNSCROBBLE}:{service}:{profile}:{item_id}:{watched_at}"


def remove_play(
    store: Store,
    play_id: int,
    *,
    targets: set[str] | None,
    removable: set[str],
    dry_run: bool,
    now: float,
) -> PlayRemoval:
    """Take one play off `targets` (every target when None) and, when None, out of the
    archive. A play a flush is sending right now is left untouched (`busy`)."""
    result = PlayRemoval(play_id)
    # A play not found, or busy, is left before anything is written: committing is a no-op.
    with store.transaction(dry_run=dry_run) as conn:
        _remove(conn, result, targets, removable, now)
    return result


def _remove(
    conn: sqlite3.Connection,
    result: PlayRemoval,
    targets: set[str] | None,
    removable: set[str],
    now: float,
) -> None:
    play = conn.execute(
        "SELECT p.profile, p.item_id, p.watched_at, i.kind FROM plays p"
        " JOIN items i ON i.id = p.item_id WHERE p.id = ?",
        (result.play_id,),
    ).fetchone()
    if play is None:
        result.found = False
        return
    result.profile, result.item_id = play["profile"], play["item_id"]
    result.watched_at, result.kind = play["watched_at"], play["kind"]
    jobs = conn.execute(
        "SELECT id, service, state FROM jobs WHERE play_id = ? AND kind = ?",
        (result.play_id, SCROBBLE),
    ).fetchall()
    held = {
        r["service"]: r
        for r in conn.execute(
            "SELECT id, service, scrobbled_at, remote_id FROM scrobbles"
            " WHERE profile = ? AND item_id = ? AND scrobbled_at = ?",
            (result.profile, result.item_id, result.watched_at),
        )
    }

    def chosen(service: str) -> bool:
        return targets is None or service in targets

    result.busy = sorted(
        j["service"] for j in jobs if j["state"] == "running" and chosen(j["service"])
    )
    if result.busy:
        return
    for service in sorted({j["service"] for j in jobs} | set(held)):
        if not chosen(service):
            continue
        job_states = {j["state"] for j in jobs if j["service"] == service}
        if service in held:
            if service in removable:
                job_id = _queue_removal(conn, service, result, held[service]["remote_id"], now)
                result.steps.append(TargetStep(service, QUEUED, job_id))
            else:
                result.steps.append(TargetStep(service, MANUAL))
                if targets is not None:
                    continue  # the play stays, and so does the target's copy of it
            forget_scrobble(conn, held[service]["id"])
            conn.execute("DELETE FROM scrobbles WHERE id = ?", (held[service]["id"],))
        elif job_states & set(PENDING_STATES):
            result.steps.append(TargetStep(service, DROPPED))
        else:
            result.steps.append(TargetStep(service, NEVER_SENT))
        if targets is not None:
            # The play stays: its sent job stays too, so the play is never queued again.
            conn.execute(
                "DELETE FROM jobs WHERE play_id = ? AND kind = ? AND service = ? AND state IN"
                " ('available', 'retryable', 'discarded')",
                (result.play_id, SCROBBLE, service),
            )
    if targets is None:
        # Play ids are handed out again (max + 1), so no job may keep pointing at this one.
        conn.execute("DELETE FROM jobs WHERE play_id = ?", (result.play_id,))
        forget_play(conn, result.play_id)
        conn.execute("DELETE FROM plays WHERE id = ?", (result.play_id,))
    else:
        result.kept_in_archive = True
    lower_marks(conn)


def _queue_removal(
    conn: sqlite3.Connection, service: str, play: PlayRemoval, remote_id: str | None, now: float
) -> int:
    key = unscrobble_key(service, play.profile, play.item_id, play.watched_at)
    conn.execute(
        "DELETE FROM jobs WHERE unique_key = ? AND state IN ('completed', 'discarded')", (key,)
    )
    payload = {"watched_at": play.watched_at, "remote_id": remote_id}
    conn.execute(
        "INSERT OR IGNORE INTO jobs (kind, service, profile, item_id, payload, state, attempt,"
        " max_attempts, scheduled_at, created_at, errors, unique_key)"
        " VALUES (?, ?, ?, ?, ?, 'available', 0, ?, ?, ?, '[]', ?)",
        (
            UNSCROBBLE,
            service,
            play.profile,
            play.item_id,
            json.dumps(payload),
            MAX_ATTEMPTS,
            now,
            now,
            key,
        ),
    )
    return conn.execute("SELECT id FROM jobs WHERE unique_key = ?", (key,)).fetchone()[0]


@dataclass(frozen=True, slots=True)
class RemovalRecord:
    """One queued removal: the play as it was (for the target to find it) and the target's
    own id for it, where one was learned (a ListenBrainz recording_msid from an import)."""

    job_id: int
    attempt: int
    play: PlayRecord
    remote_id: str | None = None


def removal_records(conn: sqlite3.Connection, job_ids: list[int]) -> list[RemovalRecord]:
    records = []
    for row in job_rows(conn, job_ids):
        payload: dict[str, Any] = json.loads(row["payload"])
        play = play_record(row, play_id=0, watched_at=payload["watched_at"])
        records.append(RemovalRecord(row["job_id"], row["attempt"], play, payload.get("remote_id")))
    return records


def item_label(conn: sqlite3.Connection, item_id: int) -> str:
    """The item as every list names it (`Artist - Title`, `Show S01E02`, the title; an id
    where no title is known, never `?`), with a movie's year."""
    row = conn.execute(
        "SELECT i.*, s.title AS show, s.tmdb AS s_tmdb, s.imdb AS s_imdb, s.tvdb AS s_tvdb,"
        " s.trakt AS s_trakt, s.simkl AS s_simkl"
        " FROM items i LEFT JOIN items s ON s.id = i.show_id WHERE i.id = ?",
        (item_id,),
    ).fetchone()
    if row is None:
        return f"item {item_id}"
    ids = {k: row[k] for k in VIDEO_IDS if row[k] is not None}
    ids = ids or {k: row[f"s_{k}"] for k in VIDEO_IDS if row[f"s_{k}"] is not None}
    name = item_name(
        row["kind"], row["title"], row["artist"], row["show"], row["season"], row["number"], ids
    )
    if row["kind"] == "movie" and row["year"] and row["title"]:
        return f"{name} ({row['year']})"
    return name
