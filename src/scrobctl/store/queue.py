"""The job queue (DESIGN.md "Queue semantics"), River-like, in the same SQLite file.

States: available -> running -> completed | retryable | discarded | rejected. `discarded`: given
up after max attempts (worth a `queue retry`); `rejected`: the service refused the play itself
(not found, ignored), which resending cannot change (issue 17). A claim is one UPDATE ...
RETURNING inside BEGIN IMMEDIATE, so two processes can never claim the same job. Only `flush`
claims, and only while it holds the flush lock; so a job still `running` under a new run id was
left by a killed process and is taken back at once (the lease is the fallback where file locks do
not work).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from scrobctl.store.db import Store, from_row
from scrobctl.store.job_counts import (  # the states, still `queue.COMPLETED` and so on
    AVAILABLE,
    DISCARDED,
    REJECTED,
    RETRYABLE,
    RUNNING,
    scrobble_key_sql,
)
from scrobctl.store.job_counts import COMPLETED as COMPLETED
from scrobctl.store.job_counts import SCROBBLE as SCROBBLE
from scrobctl.store.job_counts import STATES as STATES
from scrobctl.store.names import VIDEO_IDS, item_name, video_ids
from scrobctl.store.records import PlayRecord

PENDING = (AVAILABLE, RUNNING, RETRYABLE)
FAILED = (DISCARDED, REJECTED)

LEASE_SECONDS = 15 * 60
MAX_ATTEMPTS = 10
ERROR_HISTORY = 10  # keep the last N errors per job


# The play's time is copied onto the job (migration m012) so that claims can take the oldest
# plays by index; selected from the play itself, so every writer copies it the same way (but a
# batch of plays not written yet, which gives the time it is writing: SCROBBLE_JOB_VALUES).
# What is the same for every job is written into the statement, and SQLite makes the unique key.
SCROBBLE_JOB_INTO = (
    "INTO jobs (kind, service, profile, play_id, state, attempt, max_attempts, scheduled_at,"
    f" created_at, errors, unique_key, played_at) SELECT '{SCROBBLE}', ?1, ?2, id, '{AVAILABLE}',"
    f" 0, {MAX_ATTEMPTS}, ?3, ?3, '[]', {scrobble_key_sql('?1', 'id')}, watched_at FROM plays"
    " WHERE id = ?4"
)


# The same job for a play whose time the writer holds: a look-up of the play per job was a
# sixth of what writing 100,000 jobs cost (issue #25). Five values are bound per job rather
# than ten (binding a text copies it, and `scrobble` writes a job per line).
SCROBBLE_JOB_VALUES = (
    "INSERT INTO jobs (kind, service, profile, state, max_attempts, scheduled_at, created_at,"
    " unique_key, play_id, played_at, attempt, errors) VALUES"
    f" ('{SCROBBLE}', ?1, ?2, '{AVAILABLE}', {MAX_ATTEMPTS}, ?3, ?3,"
    f" {scrobble_key_sql('?1', '?4')}, ?4, ?5, 0, '[]')"
)


def scrobble_job_values(
    service: str, profile: str, play_id: int, played_at: int, now: float
) -> tuple[object, ...]:
    """The values for SCROBBLE_JOB_VALUES; `played_at` is the play's watched_at."""
    return (service, profile, now, play_id, played_at)


def insert_scrobble_job(
    conn: sqlite3.Connection, service: str, profile: str, play_id: int, now: float
) -> bool:
    """Queue a play for a service once; False when that job already exists."""
    cursor = conn.execute(f"INSERT OR IGNORE {SCROBBLE_JOB_INTO}", (service, profile, now, play_id))
    return cursor.rowcount > 0


def due_profiles(store: Store, service: str, now: float) -> list[str]:
    rows = store.conn.execute(
        "SELECT DISTINCT profile FROM jobs WHERE service = ? AND state IN ("
        # searchable by the claim index: completed jobs are never read (see claim_ids)
        " 'available', 'retryable', 'running') AND ("
        " (state IN ('available', 'retryable') AND scheduled_at <= ?) OR state = 'running')",
        (service, now),
    )
    return [r[0] for r in rows]


def has_due(store: Store, kind: str, service: str, profile: str, now: float) -> bool:
    row = store.conn.execute(
        "SELECT 1 FROM jobs WHERE kind = ? AND service = ? AND profile = ? AND state IN ("
        # searchable by the claim index: completed jobs are never read (see claim_ids)
        " 'available', 'retryable', 'running') AND ("
        " (state IN ('available', 'retryable') AND scheduled_at <= ?) OR state = 'running')"
        " LIMIT 1",
        (kind, service, profile, now),
    ).fetchone()
    return row is not None


def count_due(store: Store, service: str, profile: str, now: float) -> int:
    """Jobs of a target that a flush starting now would send (any kind)."""
    return store.conn.execute(
        "SELECT count(*) FROM jobs WHERE service = ? AND profile = ? AND state IN ("
        # searchable by the claim index: completed jobs are never read (see claim_ids)
        " 'available', 'retryable', 'running') AND ("
        " (state IN ('available', 'retryable') AND scheduled_at <= ?) OR state = 'running')",
        (service, profile, now),
    ).fetchone()[0]


def services_with_pending(store: Store) -> list[tuple[str, str, int]]:
    """(profile, service, count) of every pending job group, due or not."""
    rows = store.conn.execute(
        "SELECT profile, service, count(*) FROM jobs"
        " WHERE state IN ('available', 'running', 'retryable') GROUP BY profile, service"
    )
    return [(r[0], r[1], r[2]) for r in rows]


def claim_ids(
    store: Store, *, kind: str, service: str, profile: str, limit: int, run_id: str, now: float
) -> list[int]:
    """Atomically take up to `limit` due jobs of one kind; one UPDATE ... RETURNING.
    Scrobbles go oldest play first (Last.fm asks for cached scrobbles in order); ratings and
    removals, whose `played_at` is NULL, in job order. The pending jobs' index
    (idx_jobs_claim_order) holds exactly that order per target and kind, so a claim walks it
    and stops after `limit` due jobs, however many are queued (issue #25)."""
    with store.transaction() as conn:
        rows = conn.execute(
            "UPDATE jobs SET state = 'running', attempt = attempt + 1, attempted_at = :now,"
            " lease_expires_at = :lease, run_id = :run"
            # INDEXED BY: should the index go or stop matching, the claim fails loudly (tests
            # catch it) instead of quietly sorting the whole queue again on every batch.
            " WHERE id IN (SELECT jobs.id FROM jobs INDEXED BY idx_jobs_claim_order"
            "  WHERE jobs.service = :service AND jobs.profile = :profile AND jobs.kind = :kind"
            # The index's own WHERE, word for word, so the planner may use the partial index:
            # the completed jobs of a big archive are never read.
            "  AND state IN ('available', 'retryable', 'running')"
            "  AND ((jobs.state IN ('available', 'retryable') AND jobs.scheduled_at <= :now)"
            "   OR (jobs.state = 'running' AND (jobs.run_id IS NOT :run"
            "       OR jobs.lease_expires_at < :now)))"
            "  ORDER BY jobs.played_at, jobs.id LIMIT :limit)"
            " RETURNING id",
            {
                "now": now,
                "lease": now + LEASE_SECONDS,
                "run": run_id,
                "service": service,
                "profile": profile,
                "kind": kind,
                "limit": limit,
            },
        ).fetchall()
    return [r[0] for r in rows]


def claim(
    store: Store,
    *,
    service: str,
    profile: str,
    limit: int,
    run_id: str,
    now: float,
) -> list[PlayRecord]:
    """Atomically take up to `limit` due scrobble jobs, oldest play first."""
    ids = claim_ids(
        store,
        kind=SCROBBLE,
        service=service,
        profile=profile,
        limit=limit,
        run_id=run_id,
        now=now,
    )
    return play_records(store.conn, ids)


_SHOW_COLUMNS = ", ".join(["s.title AS s_title", *(f"s.{k} AS s_{k}" for k in VIDEO_IDS)])


def job_rows(
    conn: sqlite3.Connection,
    job_ids: Sequence[int],
    *,
    columns: str = "jobs.payload",
    join: str = "JOIN items i ON i.id = jobs.item_id",
    order: str = "jobs.id",
) -> list[sqlite3.Row]:
    """Claimed jobs (job_id, attempt, `columns`) with their item (`i`, found by `join`) and
    its show (`s_` columns): what every kind of job's sender record is made from. A column
    in `columns` wins over the item's own of that name. By default, jobs that name their item
    and carry what to send in `payload` (ratings, removals), in queue order."""
    if not job_ids:
        return []
    marks = ",".join("?" * len(job_ids))
    return conn.execute(
        f"SELECT jobs.id AS job_id, jobs.attempt, {columns}, i.*, {_SHOW_COLUMNS}"
        f" FROM jobs {join} LEFT JOIN items s ON s.id = i.show_id"
        f" WHERE jobs.id IN ({marks}) ORDER BY {order}",
        list(job_ids),
    ).fetchall()


def job_item(row: sqlite3.Row) -> dict[str, Any]:
    """What every sender record takes from a `job_rows` row: the job, its item and the item's
    ids, and an episode's show ids and place in the show."""
    return {
        "job_id": row["job_id"],
        "attempt": row["attempt"],
        "item_id": row["id"],
        "kind": row["kind"],
        "title": row["title"],
        "artist": row["artist"],
        "mbid": row["mbid"],
        "ids": video_ids(row),
        "show_ids": video_ids(row, "s_"),
        "season": row["season"],
        "number": row["number"],
    }


def play_records(conn: sqlite3.Connection, job_ids: Sequence[int]) -> list[PlayRecord]:
    rows = job_rows(
        conn,
        job_ids,
        columns="plays.id AS play_id, plays.watched_at,"
        " COALESCE(plays.duration_ms, i.duration_ms) AS duration_ms",
        join="JOIN plays ON plays.id = jobs.play_id JOIN items i ON i.id = plays.item_id",
        order="jobs.played_at, jobs.id",
    )
    return [play_record(r) for r in rows]


def play_record(
    row: sqlite3.Row, *, play_id: int | None = None, watched_at: int | None = None
) -> PlayRecord:
    """A claimed job's row (job, item and show columns) as the senders' record. A removal job
    has no play left in the archive, so it passes the play's time from its payload."""
    return PlayRecord(
        **job_item(row),
        play_id=row["play_id"] if play_id is None else play_id,
        watched_at=row["watched_at"] if watched_at is None else watched_at,
        album=row["album"],
        duration_ms=row["duration_ms"],
        isrc=row["isrc"],
        year=row["year"],
        show_title=row["s_title"],
    )


def complete(store: Store, job_ids: Sequence[int], now: float, outcome: str = "sent") -> None:
    """Finish jobs and record the plays in the service's history, in one transaction."""
    if not job_ids:
        return
    marks = ",".join("?" * len(job_ids))
    with store.transaction() as conn:
        conn.execute(
            "UPDATE jobs SET state = 'completed', finished_at = ?, outcome = ?,"
            f" lease_expires_at = NULL WHERE id IN ({marks})",
            [now, outcome, *job_ids],
        )
        conn.execute(
            "INSERT OR IGNORE INTO scrobbles (profile, service, item_id, scrobbled_at, source,"
            " recorded_at) SELECT jobs.profile, jobs.service, plays.item_id, plays.watched_at,"
            " 'sent', ? FROM jobs JOIN plays ON plays.id = jobs.play_id"
            f" WHERE jobs.id IN ({marks})",
            [now, *job_ids],
        )


def _append_error(errors_json: str | None, attempt: int, at: float, error: str) -> str:
    errors = json.loads(errors_json or "[]")
    errors.append({"at": at, "attempt": attempt, "error": error})
    return json.dumps(errors[-ERROR_HISTORY:])


def reject(store: Store, rejections: Sequence[tuple[int, str]], now: float) -> None:
    """Per-item refusals: finished as rejected with the reason; never retried automatically,
    and not by `queue retry --state discarded` either."""
    if not rejections:
        return
    with store.transaction() as conn:
        for job_id, reason in rejections:
            row = conn.execute(
                "SELECT attempt, errors FROM jobs WHERE id = ?", (job_id,)
            ).fetchone()
            conn.execute(
                "UPDATE jobs SET state = 'rejected', finished_at = ?, outcome = ?, errors = ?,"
                " lease_expires_at = NULL WHERE id = ?",
                (now, f"rejected: {reason}", _append_error(row[1], row[0], now, reason), job_id),
            )


@dataclass(frozen=True)
class FailResult:
    retried: int
    discarded: int
    next_at: float | None


def fail(
    store: Store,
    job_ids: Sequence[int],
    error: str,
    now: float,
    delay: Callable[[int], float],
) -> FailResult:
    """A transient failure: back off per attempt, or discard once attempts run out."""
    retried = discarded = 0
    next_at: float | None = None
    with store.transaction() as conn:
        for job_id in job_ids:
            row = conn.execute(
                "SELECT attempt, max_attempts, errors FROM jobs WHERE id = ?", (job_id,)
            ).fetchone()
            errors = _append_error(row["errors"], row["attempt"], now, error)
            if row["attempt"] >= row["max_attempts"]:
                conn.execute(
                    "UPDATE jobs SET state = 'discarded', finished_at = ?, outcome = ?,"
                    " errors = ?, lease_expires_at = NULL WHERE id = ?",
                    (now, f"failed after {row['attempt']} attempts: {error}", errors, job_id),
                )
                discarded += 1
            else:
                at = now + delay(row["attempt"])
                conn.execute(
                    "UPDATE jobs SET state = 'retryable', scheduled_at = ?, errors = ?,"
                    " lease_expires_at = NULL WHERE id = ?",
                    (at, errors, job_id),
                )
                retried += 1
                next_at = at if next_at is None else min(next_at, at)
    return FailResult(retried, discarded, next_at)


def release(store: Store, job_ids: Sequence[int], until: float | None = None) -> None:
    """Give jobs back untouched (snooze for 429, or waiting for a login): no attempt spent."""
    _on_jobs(
        store,
        job_ids,
        "UPDATE jobs SET state = 'available', attempt = max(attempt - 1, 0),"
        " scheduled_at = COALESCE(?, scheduled_at), lease_expires_at = NULL,"
        " run_id = NULL WHERE id IN ({ids}) AND state = 'running'",
        until,
    )


def _on_jobs(store: Store, job_ids: Sequence[int], sql: str, *before: object) -> int:
    """One statement over the jobs named (`{ids}` in `sql`: their marks; `before`: the values
    of the marks ahead of them), in a transaction of its own; how many rows it touched."""
    if not job_ids:
        return 0
    marks = ",".join("?" * len(job_ids))
    with store.transaction() as conn:
        return conn.execute(sql.format(ids=marks), [*before, *job_ids]).rowcount


@dataclass(frozen=True)
class JobView:
    id: int
    kind: str
    service: str
    profile: str
    state: str
    attempt: int
    max_attempts: int
    scheduled_at: float | None
    created_at: float | None
    finished_at: float | None
    outcome: str | None
    last_error: str | None
    item: str


def count_jobs(store: Store, *, states: Sequence[str] = (), service: str | None = None) -> int:
    """From the triggers' counts, like `counts`: never a count over a million rows."""
    where, args = _filter(states, service, table="job_counts")
    sql = f"SELECT coalesce(sum(n), 0) FROM job_counts{where}"  # a count of 0 adds nothing
    return store.conn.execute(sql, args).fetchone()[0]


def list_jobs(
    store: Store,
    *,
    states: Sequence[str] = (),
    service: str | None = None,
    limit: int | None = None,
    newest_first: bool = False,
) -> Iterator[JobView]:
    where, args = _filter(states, service)
    sql = (
        "SELECT jobs.*, items.kind AS item_kind, items.title, items.artist, items.season,"
        " items.number, show.title AS show_title, "
        + ", ".join(f"items.{k} AS i_{k}" for k in VIDEO_IDS)
        + ", "
        + ", ".join(f"show.{k} AS s_{k}" for k in VIDEO_IDS)
        + " FROM jobs LEFT JOIN plays ON plays.id = jobs.play_id"
        " LEFT JOIN items ON items.id = COALESCE(plays.item_id, jobs.item_id)"
        " LEFT JOIN items show ON show.id = items.show_id"
        + where
        + (" ORDER BY jobs.id DESC" if newest_first else " ORDER BY jobs.id")
    )
    if limit is not None:
        sql += " LIMIT ?"
        args.append(limit)
    for row in store.conn.execute(sql, args):
        errors = json.loads(row["errors"] or "[]")
        last_error = errors[-1]["error"] if errors else None
        yield from_row(JobView, row, last_error=last_error, item=_describe_item(row))


def _describe_item(row: sqlite3.Row) -> str:
    if row["kind"] == "rating" and row["payload"]:
        rating = json.loads(row["payload"]).get("rating")
        return f"rating {rating:g}: {_describe_media(row)}"
    return _describe_media(row)


def _describe_media(row: sqlite3.Row) -> str:
    # An episode known by its show's ids alone is named by them (`tvdb:371980 S01E02`).
    ids = {k: row[f"i_{k}"] for k in VIDEO_IDS if row[f"i_{k}"] is not None}
    ids = ids or {k: row[f"s_{k}"] for k in VIDEO_IDS if row[f"s_{k}"] is not None}
    return row_name(row, row["item_kind"], ids)


def row_name(row: sqlite3.Row, kind: str | None, ids: dict[str, Any]) -> str:
    """`item_name` of a row with an item's columns and its show's title as `show_title`."""
    return item_name(
        kind, row["title"], row["artist"], row["show_title"], row["season"], row["number"], ids
    )


def _filter(
    states: Sequence[str], service: str | None, profile: str | None = None, table: str = "jobs"
) -> tuple[str, list[object]]:
    """The WHERE clause picking jobs (of `table`: `jobs`, or its counts `job_counts`) by state,
    target and profile; none given: all."""
    clauses: list[str] = []
    args: list[object] = []
    if profile:
        clauses.append(f"{table}.profile = ?")
        args.append(profile)
    if states:
        clauses.append(f"{table}.state IN ({','.join('?' * len(states))})")
        args.extend(states)
    if service:
        clauses.append(f"{table}.service = ?")
        args.append(service)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), args


def retry(store: Store, job_ids: Sequence[int], now: float) -> int:
    """Make given-up, rejected (named by id) or waiting jobs due now, with fresh attempts."""
    return _on_jobs(
        store,
        job_ids,
        "UPDATE jobs SET state = 'available', attempt = 0, scheduled_at = ?,"
        " finished_at = NULL, outcome = NULL WHERE id IN ({ids})"
        " AND state IN ('discarded', 'rejected', 'retryable', 'available')",
        now,
    )


def lift_pauses(store: Store, job_ids: Sequence[int], now: float) -> list[tuple[str, str]]:
    """Clear the service pause (a 429's or a daily cap's) of the connections these jobs go to:
    a job made due by hand would otherwise wait for the pause anyway. Returns the (profile,
    service) pairs whose pause was lifted."""
    if not job_ids:
        return []
    marks = ",".join("?" * len(job_ids))
    with store.transaction() as conn:
        rows = conn.execute(
            "SELECT DISTINCT c.profile, c.service FROM connections c"
            " JOIN jobs j ON j.profile = c.profile AND j.service = c.service"
            f" WHERE j.id IN ({marks}) AND c.deferred_until > ?",
            [*job_ids, now],
        ).fetchall()
        for profile, service in rows:
            conn.execute(
                "UPDATE connections SET deferred_until = NULL WHERE profile = ? AND service = ?",
                (profile, service),
            )
    return [(r[0], r[1]) for r in rows]


def drop(store: Store, job_ids: Sequence[int]) -> int:
    """Delete jobs that are not being sent right now; their plays stay in the archive."""
    return _on_jobs(store, job_ids, "DELETE FROM jobs WHERE id IN ({ids}) AND state != 'running'")


def last_discarded(store: Store, service: str, profile: str) -> int | None:
    """The newest given-up job of a target: a new one means new plays were given up."""
    return store.conn.execute(
        "SELECT max(id) FROM jobs WHERE state = 'discarded' AND service = ? AND profile = ?",
        (service, profile),
    ).fetchone()[0]


def select_ids(
    store: Store, *, states: Sequence[str], service: str | None, profile: str | None = None
) -> list[int]:
    where, args = _filter(states, service, profile)
    return [r[0] for r in store.conn.execute("SELECT jobs.id FROM jobs" + where, args)]
