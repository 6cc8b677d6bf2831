"""Named forward migrations, applied in order and recorded in `_migrations`.

Append new functions to MIGRATIONS; never edit one that has shipped. `PRAGMA user_version` mirrors
the count so start-up can tell "nothing to do" without importing sqlite-utils.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database


def m001_initial(db: Database) -> None:
    db["connections"].create(
        {
            "profile": str,
            "service": str,
            "enabled": int,
            "account": str,
            "token_expires_at": float,
            "settings": str,
            "status": str,
            "status_detail": str,
            "deferred_until": float,
            "connected_at": float,
        },
        pk=("profile", "service"),
        not_null={"profile", "service", "enabled", "status"},
        defaults={"enabled": 1, "status": "ok", "settings": "{}"},
    )
    db["items"].create(
        {
            "id": int,
            "kind": str,
            "title": str,
            "artist": str,
            "album": str,
            "year": int,
            "show_id": int,
            "season": int,
            "number": int,
            "duration_ms": int,
            "tmdb": int,
            "imdb": str,
            "tvdb": int,
            "trakt": int,
            "simkl": int,
            "mbid": str,
            "isrc": str,
            "weak_key": str,
            "created_at": float,
        },
        pk="id",
        not_null={"kind"},
        foreign_keys=[("show_id", "items", "id")],
    )
    # Partial indexes: most items carry one or two ids, and an index entry per NULL would slow
    # every insert for nothing (sqlite-utils' create_index has no WHERE, hence plain SQL).
    for column in ("tmdb", "imdb", "tvdb", "trakt", "simkl"):
        db.execute(
            f"CREATE INDEX idx_items_kind_{column} ON items (kind, {column})"
            f" WHERE {column} IS NOT NULL"
        )
    for column in ("mbid", "isrc", "weak_key"):
        db.execute(
            f"CREATE INDEX idx_items_{column} ON items ({column}) WHERE {column} IS NOT NULL"
        )
    db.execute(
        "CREATE INDEX idx_items_episode ON items (show_id, season, number)"
        " WHERE show_id IS NOT NULL"
    )

    db["plays"].create(
        {
            "id": int,
            "profile": str,
            "item_id": int,
            "watched_at": int,
            "duration_ms": int,
            "played_ms": int,
            "percentage": float,
            "source": str,
            "created_at": float,
        },
        pk="id",
        not_null={"profile", "item_id", "watched_at"},
        foreign_keys=[("item_id", "items", "id")],
    )
    db["plays"].create_index(["profile", "item_id", "watched_at"], unique=True)

    db["jobs"].create(
        {
            "id": int,
            "kind": str,
            "service": str,
            "profile": str,
            "play_id": int,
            "state": str,
            "attempt": int,
            "max_attempts": int,
            "scheduled_at": float,
            "created_at": float,
            "attempted_at": float,
            "finished_at": float,
            "lease_expires_at": float,
            "run_id": str,
            "outcome": str,
            "errors": str,
            "unique_key": str,
        },
        pk="id",
        not_null={"kind", "service", "profile", "state", "attempt", "max_attempts", "unique_key"},
        defaults={"attempt": 0, "max_attempts": 10, "errors": "[]"},
        foreign_keys=[("play_id", "plays", "id")],
    )
    db["jobs"].create_index(["unique_key"], unique=True)
    db["jobs"].create_index(["service", "state", "scheduled_at"], index_name="idx_jobs_claim")
    db["jobs"].create_index(["state", "scheduled_at"], index_name="idx_jobs_due")

    db["scrobbles"].create(
        {
            "id": int,
            "profile": str,
            "service": str,
            "item_id": int,
            "scrobbled_at": int,
            "source": str,
            "recorded_at": float,
        },
        pk="id",
        not_null={"profile", "service", "item_id", "scrobbled_at", "source"},
        foreign_keys=[("item_id", "items", "id")],
    )
    db["scrobbles"].create_index(["profile", "service", "item_id", "scrobbled_at"], unique=True)


def m002_imports_and_ratings(db: Database) -> None:
    """History imports (checkpoints for resume, high-water marks for incremental runs) and the
    local ratings table on one 1-10 scale."""
    db["imports"].create(
        {
            "profile": str,
            "service": str,
            "kind": str,
            "state": str,
            "cursor": str,
            "high_water": int,
            "started_at": float,
            "finished_at": float,
            "processed": int,
            "matched": int,
            "failed": int,
        },
        pk=("profile", "service", "kind"),
        not_null={"profile", "service", "kind", "state"},
        defaults={"processed": 0, "matched": 0, "failed": 0},
    )
    db["ratings"].create(
        {
            "id": int,
            "profile": str,
            "item_id": int,
            "rating": float,
            "rated_at": int,
            "source": str,
            "recorded_at": float,
        },
        pk="id",
        not_null={"profile", "item_id", "rating", "source"},
        foreign_keys=[("item_id", "items", "id")],
    )
    db["ratings"].create_index(["profile", "item_id", "source"], unique=True)
    db["plays"].create_index(["watched_at"], index_name="idx_plays_watched_at")
    db["scrobbles"].create_index(["service", "scrobbled_at"], index_name="idx_scrobbles_time")
    db["scrobbles"].create_index(
        ["profile", "item_id", "scrobbled_at"], index_name="idx_scrobbles_play"
    )


def m003_job_payload(db: Database) -> None:
    """Jobs that are not plays (rating exports) carry what to send as JSON."""
    db["jobs"].add_column("payload", str)
    db["jobs"].add_column("item_id", int)


def m004_remote_ids_and_stats(db: Database) -> None:
    """A target's own id for a play it has (ListenBrainz's recording_msid, which
    /1/delete-listen needs), where an item's TMDb id came from, and what `stats` needs to stay
    fast on a large archive: running totals per item and per target, and a covering index for
    time ranges (issue #24)."""
    db["scrobbles"].add_column("remote_id", str)
    # The id an import looked up on TMDb to learn the item's tmdb id ("imdb:tt0133093"), so
    # that `explain` can name that rule.
    db["items"].add_column("tmdb_from", str)
    db.execute(
        "CREATE INDEX idx_plays_time_stats ON plays (watched_at, item_id, played_ms, duration_ms)"
    )
    # Running totals `stats` keeps up to date from the rows added since it last looked (marks:
    # the highest play and scrobble id counted); unscrobble takes its plays back out.
    db.execute(
        "CREATE TABLE stat_items (item_id INTEGER PRIMARY KEY, plays INTEGER NOT NULL,"
        " ms INTEGER NOT NULL, unknown INTEGER NOT NULL)"
    )
    db.execute(
        "CREATE TABLE stat_targets (service TEXT NOT NULL, kind TEXT NOT NULL,"
        " plays INTEGER NOT NULL, PRIMARY KEY (service, kind))"
    )
    db.execute("CREATE TABLE stat_marks (name TEXT PRIMARY KEY, value INTEGER NOT NULL)")


def m005_archive_id(db: Database) -> None:
    """A random id for this archive. Keyring entries are keyed by it, so a second data folder
    never reads or revokes this one's logins (issue 17); it survives moving the folder."""
    import uuid

    db["meta"].create({"key": str, "value": str}, pk="key")
    db["meta"].insert({"key": "archive_id", "value": uuid.uuid4().hex})


def m006_plays_created_index(db: Database) -> None:
    """Plays recorded here, by when: status finds the plays a new target lacks (those recorded
    before it was connected) without reading the whole archive. Imports leave created_at NULL."""
    db.execute(
        "CREATE INDEX idx_plays_created ON plays (profile, created_at) WHERE created_at IS NOT NULL"
    )


def m007_rejected_state(db: Database) -> None:
    """Plays a service refused are `rejected`, apart from `discarded` (given up after retries),
    so `queue retry --state discarded` never resends them (issue 17). Earlier refusals were
    recorded as discarded with a `rejected: ...` outcome."""
    db.execute(
        "UPDATE jobs SET state = 'rejected' WHERE state = 'discarded' AND outcome LIKE 'rejected:%'"
    )


def m008_notices(db: Database) -> None:
    """Notifications sent (notify.url), by cause, so the same cause is never sent twice."""
    db["notices"].create({"key": str, "sent_at": float, "title": str}, pk="key")


def m009_targets(db: Database) -> None:
    """Connections become named targets (issue #19): `service` holds the target's name, and the
    row says which kind of service it is, at which URL, and what server answered there. A
    connection made before this is the default target of its kind, named after it; its URL is the
    configured one (NULL here) and its tokens stay under the same key."""
    db["connections"].add_column("kind", str)
    db["connections"].add_column("url", str)
    db["connections"].add_column("server", str)
    db.execute("UPDATE connections SET kind = service WHERE kind IS NULL")


def m010_counts_and_history_index(db: Database) -> None:
    """What the everyday commands need to stay as fast on a million plays as on none (issue
    #25). `status` reads job counts kept by triggers, so it never groups every completed job;
    every write to `jobs`, whatever module makes it, keeps them. `history` asks which targets
    have each play by (profile, item, time): the index for that now holds the service as well,
    so the planner prefers it to the unique index, whose first column alone it would otherwise
    scan (an archive without ANALYZE statistics, which is every user's). `explain` and
    `unscrobble` find a play's jobs by index."""
    db.execute(
        "CREATE TABLE job_counts (service TEXT NOT NULL, state TEXT NOT NULL,"
        " n INTEGER NOT NULL, PRIMARY KEY (service, state)) WITHOUT ROWID"
    )
    db.execute(
        "INSERT INTO job_counts (service, state, n)"
        " SELECT service, state, count(*) FROM jobs GROUP BY service, state"
    )
    add = (
        "INSERT INTO job_counts (service, state, n) VALUES (new.service, new.state, 1)"
        " ON CONFLICT (service, state) DO UPDATE SET n = n + 1;"
    )
    remove = "UPDATE job_counts SET n = n - 1 WHERE service = old.service AND state = old.state;"
    db.execute(f"CREATE TRIGGER jobs_counted_insert AFTER INSERT ON jobs BEGIN {add} END")
    db.execute(f"CREATE TRIGGER jobs_counted_delete AFTER DELETE ON jobs BEGIN {remove} END")
    db.execute(
        "CREATE TRIGGER jobs_counted_update AFTER UPDATE OF state, service ON jobs"
        " WHEN old.state IS NOT new.state OR old.service IS NOT new.service"
        f" BEGIN {remove} {add} END"
    )
    # A play's jobs (explain, unscrobble) and an item's rating and removal jobs, without
    # reading the queue: play ids only grow, so this index is appended to, not scattered.
    db.execute("CREATE INDEX idx_jobs_play ON jobs (play_id)")
    db.execute("CREATE INDEX idx_jobs_item ON jobs (item_id) WHERE item_id IS NOT NULL")
    db.execute("DROP INDEX idx_scrobbles_play")
    db.execute(
        "CREATE INDEX idx_scrobbles_play ON scrobbles (profile, item_id, scrobbled_at, service)"
    )


def m011_import_counts(db: Database) -> None:
    """What an import added, apart (plays and ratings, new and already known), and why one
    stopped, so that a resumed run counts on and `status` says what happened (issue 17)."""
    db["imports"].add_column("counts", str)
    db["imports"].add_column("detail", str)


def m012_job_play_time(db: Database) -> None:
    """A scrobble job carries its play's time (`played_at`), and the pending jobs are indexed by
    target and that time, so a claim reads the batch it takes and nothing else: ordering by the
    play's time through a join to `plays` read and sorted every due job on each batch, 0.58 s a
    batch with a million queued (issue #25). Plays' times never change, so the copy stays true.
    Ratings and removals have no play: NULL, so they go in job order."""
    db.execute("ALTER TABLE jobs ADD COLUMN played_at INTEGER")
    db.execute(
        "UPDATE jobs SET played_at = (SELECT watched_at FROM plays WHERE plays.id = jobs.play_id)"
        " WHERE play_id IS NOT NULL"
    )
    db.execute(
        "CREATE INDEX idx_jobs_claim_order ON jobs (service, profile, kind, played_at)"
        " WHERE state IN ('available', 'retryable', 'running')"
    )


def m013_stat_tops(db: Database) -> None:
    """`stats` keeps its top lists and per-type totals as running totals too: one row per
    artist, track, album, show, movie and media type, with an index in rank order, so a top
    list reads its first rows instead of grouping every item (50,000 rows at a million plays,
    issue #25); `first`, the lowest item id counted in the row, keeps the spelling it is
    shown by (the first recorded). They replace the per-item totals; the plays mark is
    dropped, so the next `stats` counts every play into them once."""
    db.execute(
        "CREATE TABLE stat_tops (list TEXT NOT NULL, key NOT NULL, name TEXT,"
        " plays INTEGER NOT NULL, ms INTEGER NOT NULL, first INTEGER NOT NULL,"
        " PRIMARY KEY (list, key)) WITHOUT ROWID"
    )
    db.execute("CREATE INDEX idx_stat_tops_rank ON stat_tops (list, plays DESC, name)")
    db.execute("DROP TABLE stat_items")
    db.execute("DELETE FROM stat_marks WHERE name = 'plays'")


MIGRATIONS: list[Callable[[Database], None]] = [
    m001_initial,
    m002_imports_and_ratings,
    m003_job_payload,
    m004_remote_ids_and_stats,
    m005_archive_id,
    m006_plays_created_index,
    m007_rejected_state,
    m008_notices,
    m009_targets,
    m010_counts_and_history_index,
    m011_import_counts,
    m012_job_play_time,
    m013_stat_tops,
]
