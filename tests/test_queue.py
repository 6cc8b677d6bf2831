"""The job queue (DESIGN.md "Queue semantics") and the flush lock that guards claiming."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from scrobctl.errors import ExitCode, LockHeld
from scrobctl.lock import exclusive
from scrobctl.store import Store, job_counts, queue
from scrobctl.store.queue import LEASE_SECONDS
from tests.helpers import vm_steps

NOW = 1_000_000.0
LB = "listenbrainz"


def add_play(store: Store, watched_at: int, profile: str = "default") -> int:
    with store.transaction() as conn:
        item = conn.execute(
            "INSERT INTO items (kind, title, artist) VALUES ('track', ?, 'Artist')",
            (f"Song {watched_at}",),
        ).lastrowid
        return conn.execute(
            "INSERT INTO plays (profile, item_id, watched_at) VALUES (?, ?, ?)",
            (profile, item, watched_at),
        ).lastrowid


def enqueue(store: Store, watched_at: int = 100, service: str = LB) -> int:
    """A play and its scrobble job; returns the job id."""
    play = add_play(store, watched_at)
    with store.transaction() as conn:
        queue.insert_scrobble_job(conn, service, "default", play, NOW)
    return store.conn.execute(
        "SELECT id FROM jobs WHERE play_id = ? AND service = ?", (play, service)
    ).fetchone()[0]


def claim(store: Store, limit: int = 10, run_id: str = "run-1", now: float = NOW) -> list[int]:
    records = queue.claim(store, service=LB, profile="default", limit=limit, run_id=run_id, now=now)
    return [r.job_id for r in records]


def job(store: Store, job_id: int) -> dict[str, Any]:
    return dict(store.conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone())


# insert


def test_insert_scrobble_job_is_idempotent_per_service_and_play(store: Store) -> None:
    play = add_play(store, 100)
    with store.transaction() as conn:
        first = queue.insert_scrobble_job(conn, LB, "default", play, NOW)
        again = queue.insert_scrobble_job(conn, LB, "default", play, NOW + 5)
        other = queue.insert_scrobble_job(conn, "lastfm", "default", play, NOW)
    assert (first, again, other) == (True, False, True)
    assert store.conn.execute("SELECT count(*) FROM jobs").fetchone()[0] == 2


def test_a_batch_written_job_is_the_job_insert_scrobble_job_writes(store: Store) -> None:
    """`scrobble` writes its jobs by SCROBBLE_JOB_VALUES (constants and the key made by
    SQLite); a job so written must be the one insert_scrobble_job writes for the same play."""
    one, other = add_play(store, 100), add_play(store, 200)
    with store.transaction() as conn:
        queue.insert_scrobble_job(conn, LB, "default", one, NOW)
        values = queue.scrobble_job_values(LB, "default", other, 200, NOW)
        conn.execute(queue.SCROBBLE_JOB_VALUES, values)
    rows = [job(store, j) for (j,) in store.conn.execute("SELECT id FROM jobs ORDER BY id")]
    for row in rows:
        row.pop("id")
    assert rows[0]["unique_key"] == f"scrobble:{LB}:{one}"
    assert rows[1]["unique_key"] == f"scrobble:{LB}:{other}"
    assert {**rows[0], "play_id": other, "played_at": 200, "unique_key": ""} == {
        **rows[1],
        "unique_key": "",
    }


# claim


def test_claim_returns_at_most_limit_jobs(store: Store) -> None:
    for t in (100, 200, 300):
        enqueue(store, t)
    assert len(claim(store, limit=2)) == 2


def test_claim_takes_oldest_watched_at_first(store: Store) -> None:
    late, early, middle = enqueue(store, 300), enqueue(store, 100), enqueue(store, 200)
    assert claim(store, limit=2) == [early, middle]
    assert claim(store, limit=2) == [late]


def test_claim_marks_jobs_running_with_attempt_incremented(store: Store) -> None:
    job_id = enqueue(store)
    claim(store, run_id="run-1")
    row = job(store, job_id)
    assert (row["state"], row["attempt"], row["run_id"]) == ("running", 1, "run-1")
    assert row["lease_expires_at"] == NOW + LEASE_SECONDS


def test_claim_same_run_never_returns_a_job_twice(store: Store) -> None:
    enqueue(store, 100)
    enqueue(store, 200)
    first = claim(store, limit=1)
    second = claim(store, limit=1)
    assert len(first) == len(second) == 1
    assert first != second
    assert claim(store) == []


def test_claim_reclaims_job_left_running_by_another_run(store: Store) -> None:
    job_id = enqueue(store)
    claim(store, run_id="killed-run")
    assert claim(store, run_id="new-run", now=NOW + 1) == [job_id]
    assert job(store, job_id)["attempt"] == 2


def test_claim_skips_own_running_job_with_unexpired_lease(store: Store) -> None:
    enqueue(store)
    claim(store)
    assert claim(store, now=NOW + LEASE_SECONDS - 1) == []


def test_claim_reclaims_job_whose_lease_expired(store: Store) -> None:
    job_id = enqueue(store)
    claim(store)
    assert claim(store, now=NOW + LEASE_SECONDS + 1) == [job_id]


def test_claim_skips_job_scheduled_in_the_future(store: Store) -> None:
    job_id = enqueue(store)
    claim(store)
    queue.release(store, [job_id], until=NOW + 60)
    assert claim(store, now=NOW + 59) == []
    assert claim(store, now=NOW + 60) == [job_id]


def test_claim_returns_play_details(store: Store) -> None:
    enqueue(store, 100)
    (record,) = queue.claim(store, service=LB, profile="default", limit=1, run_id="r", now=NOW)
    assert (record.kind, record.watched_at, record.title, record.artist) == (
        "track",
        100,
        "Song 100",
        "Artist",
    )


# finishing


def test_complete_marks_completed_and_records_sent_scrobble(store: Store) -> None:
    job_id = enqueue(store, 100)
    claim(store)
    queue.complete(store, [job_id], now=NOW + 1)
    row = job(store, job_id)
    assert (row["state"], row["finished_at"], row["outcome"]) == ("completed", NOW + 1, "sent")
    scrobbles = store.conn.execute("SELECT service, scrobbled_at, source FROM scrobbles")
    assert [tuple(r) for r in scrobbles] == [(LB, 100, "sent")]


def test_reject_finishes_as_rejected_with_reason_and_records_error(store: Store) -> None:
    job_id = enqueue(store)
    claim(store)
    queue.reject(store, [(job_id, "not_found")], now=NOW + 1)
    row = job(store, job_id)
    assert (row["state"], row["outcome"]) == ("rejected", "rejected: not_found")
    assert json.loads(row["errors"]) == [{"at": NOW + 1, "attempt": 1, "error": "not_found"}]


def test_fail_schedules_retry_after_delay_for_attempt(store: Store) -> None:
    job_id = enqueue(store)
    claim(store)
    result = queue.fail(store, [job_id], "HTTP 503", now=NOW, delay=lambda attempt: 30 * attempt)
    row = job(store, job_id)
    assert (row["state"], row["scheduled_at"]) == ("retryable", NOW + 30)
    assert result == queue.FailResult(retried=1, discarded=0, next_at=NOW + 30)


def test_fail_discards_when_attempts_run_out(store: Store) -> None:
    job_id = enqueue(store)
    for n in range(queue.MAX_ATTEMPTS):
        claim(store, now=NOW + n)
        result = queue.fail(store, [job_id], f"HTTP 503 #{n}", now=NOW + n, delay=lambda a: 0)
    row = job(store, job_id)
    assert (row["state"], row["attempt"]) == ("discarded", queue.MAX_ATTEMPTS)
    assert result.discarded == 1
    assert len(json.loads(row["errors"])) == queue.MAX_ATTEMPTS


def test_fail_keeps_only_last_ten_errors(store: Store) -> None:
    job_id = enqueue(store)
    store.conn.execute("UPDATE jobs SET max_attempts = 100 WHERE id = ?", (job_id,))
    for n in range(12):
        claim(store, now=NOW + n)
        queue.fail(store, [job_id], f"error {n}", now=NOW + n, delay=lambda a: 0)
    errors = json.loads(job(store, job_id)["errors"])
    assert [e["error"] for e in errors] == [f"error {n}" for n in range(2, 12)]


def test_release_returns_job_without_spending_an_attempt(store: Store) -> None:
    job_id = enqueue(store)
    claim(store)
    queue.release(store, [job_id], until=NOW + 120)
    row = job(store, job_id)
    assert (row["state"], row["attempt"], row["scheduled_at"]) == ("available", 0, NOW + 120)
    assert (row["run_id"], row["lease_expires_at"]) == (None, None)


# reading and managing


def test_counts_groups_by_service_and_state(store: Store) -> None:
    enqueue(store, 100)
    enqueue(store, 200)
    enqueue(store, 100, service="lastfm")
    claim(store, limit=1)
    assert job_counts.counts(store) == {
        LB: {"running": 1, "available": 1},
        "lastfm": {"available": 1},
    }


def grouped(store: Store) -> dict[str, dict[str, int]]:
    result: dict[str, dict[str, int]] = {}
    for service, state, n in store.conn.execute(
        "SELECT service, state, count(*) FROM jobs GROUP BY service, state"
    ):
        result.setdefault(service, {})[state] = n
    return result


def test_counts_follow_every_change_to_jobs_whoever_makes_it(store: Store) -> None:
    """status reads counts kept by triggers (issue #25); they match a full count after each
    kind of write, including plain SQL from any module and a rolled-back transaction."""
    first, second, third = enqueue(store, 100), enqueue(store, 200), enqueue(store, 300)
    enqueue(store, 100, service="lastfm")
    assert job_counts.counts(store) == grouped(store)
    claim(store, limit=3)
    assert job_counts.counts(store) == grouped(store)
    queue.complete(store, [first], now=NOW)
    queue.reject(store, [(second, "not_found")], now=NOW)
    assert job_counts.counts(store) == grouped(store)
    queue.retry(store, [second], now=NOW)
    store.conn.execute("UPDATE jobs SET service = 'maloja' WHERE id = ?", (third,))
    assert job_counts.counts(store) == grouped(store)
    with pytest.raises(RuntimeError), store.transaction() as conn:
        conn.execute("DELETE FROM jobs")
        raise RuntimeError("rolled back")
    assert job_counts.counts(store) == grouped(store)
    store.conn.execute("DELETE FROM jobs WHERE id = ?", (second,))
    assert job_counts.counts(store) == grouped(store)
    assert queue.count_jobs(store, states=["completed"]) == 1
    assert queue.count_jobs(store, service="lastfm") == 1


def test_list_jobs_filters_by_state(store: Store) -> None:
    running, waiting = enqueue(store, 100), enqueue(store, 200)
    claim(store, limit=1)
    assert [j.id for j in queue.list_jobs(store, states=["available"])] == [waiting]
    assert [j.id for j in queue.list_jobs(store, states=["running"])] == [running]


def test_list_jobs_filters_by_service(store: Store) -> None:
    enqueue(store, 100)
    lastfm = enqueue(store, 100, service="lastfm")
    (view,) = queue.list_jobs(store, service="lastfm")
    assert (view.id, view.service, view.item) == (lastfm, "lastfm", "Artist - Song 100")


def test_retry_resets_attempts_and_makes_discarded_job_due(store: Store) -> None:
    job_id = enqueue(store)
    claim(store)
    queue.reject(store, [(job_id, "not_found")], now=NOW)
    assert queue.retry(store, [job_id], now=NOW + 10) == 1
    row = job(store, job_id)
    assert (row["state"], row["attempt"], row["scheduled_at"]) == ("available", 0, NOW + 10)
    assert claim(store, now=NOW + 10, run_id="run-2") == [job_id]


def test_drop_deletes_only_jobs_that_are_not_running(store: Store) -> None:
    running, waiting = enqueue(store, 100), enqueue(store, 200)
    claim(store, limit=1)
    assert queue.drop(store, [running, waiting]) == 1
    assert [j.id for j in queue.list_jobs(store)] == [running]


# the flush lock


def test_lock_second_holder_raises_lock_held_naming_pid(tmp_path: Path) -> None:
    path = tmp_path / "flush.lock"
    with exclusive(path), pytest.raises(LockHeld) as info, exclusive(path):
        pass
    assert info.value.exit_code == ExitCode.LOCKED == 4
    assert f"pid {os.getpid()}" in str(info.value)


def test_lock_can_be_taken_again_after_release(tmp_path: Path) -> None:
    path = tmp_path / "flush.lock"
    with exclusive(path):
        pass
    with exclusive(path):
        assert path.read_text() == str(os.getpid())


# rejected is not discarded (issue 17)


def test_retry_state_discarded_never_selects_rejected_jobs(store: Store) -> None:
    refused, gave_up = enqueue(store, 100), enqueue(store, 200)
    claim(store)
    queue.reject(store, [(refused, "not found on Trakt")], now=NOW + 1)
    store.conn.execute("UPDATE jobs SET attempt = max_attempts WHERE id = ?", (gave_up,))
    queue.fail(store, [gave_up], "HTTP 503", NOW + 1, lambda attempt: 30)

    selected = queue.select_ids(store, states=[queue.DISCARDED], service=None)

    assert selected == [gave_up]
    assert job(store, refused)["state"] == queue.REJECTED


def test_migration_turns_old_refusals_into_rejected_jobs(data_dir: Path) -> None:
    from sqlite_utils import Database

    from scrobctl.store import open_store
    from scrobctl.store.migrations import m007_rejected_state

    store = open_store(data_dir / "scrobctl.db")
    refused, gave_up = enqueue(store, 100), enqueue(store, 200)
    store.conn.execute(
        "UPDATE jobs SET state = 'discarded', outcome = 'rejected: not_found' WHERE id = ?",
        (refused,),
    )
    store.conn.execute(
        "UPDATE jobs SET state = 'discarded', outcome = 'failed after 10 attempts' WHERE id = ?",
        (gave_up,),
    )

    m007_rejected_state(Database(store.conn))

    assert (job(store, refused)["state"], job(store, gave_up)["state"]) == (
        "rejected",
        "discarded",
    )
    store.close()


def test_list_jobs_names_an_episode_by_its_show(store: Store) -> None:
    with store.transaction() as conn:
        show = conn.execute(
            "INSERT INTO items (kind, title, tvdb) VALUES ('show', 'Severance', 371980)"
        ).lastrowid
        episode = conn.execute(
            "INSERT INTO items (kind, show_id, season, number) VALUES ('episode', ?, 1, 2)",
            (show,),
        ).lastrowid
        play = conn.execute(
            "INSERT INTO plays (profile, item_id, watched_at) VALUES ('default', ?, 100)",
            (episode,),
        ).lastrowid
        queue.insert_scrobble_job(conn, "trakt", "default", play, NOW)

    [listed] = queue.list_jobs(store)

    assert listed.item == "Severance S01E02"


def test_list_jobs_names_a_movie_without_title_by_its_id(store: Store) -> None:
    with store.transaction() as conn:
        movie = conn.execute("INSERT INTO items (kind, tmdb) VALUES ('movie', 603)").lastrowid
        play = conn.execute(
            "INSERT INTO plays (profile, item_id, watched_at) VALUES ('default', ?, 100)",
            (movie,),
        ).lastrowid
        queue.insert_scrobble_job(conn, "trakt", "default", play, NOW)

    [listed] = queue.list_jobs(store)

    assert listed.item == "tmdb:603"


def _claim_steps(store: Store) -> int:
    """SQLite virtual-machine steps (in hundreds) to find due jobs and claim a batch."""

    def work() -> list[int]:
        assert queue.has_due(store, queue.SCROBBLE, LB, "default", NOW)
        assert queue.count_due(store, LB, "default", NOW) == 10
        return claim(store, limit=5, run_id="run-steps")

    steps, claimed = vm_steps(store.conn, work)
    queue.release(store, claimed)
    return steps


def test_claiming_never_reads_the_completed_jobs_of_a_big_archive(store: Store) -> None:
    """issue #25: per-batch cost stays flat however many jobs a target has finished."""
    for at in range(10):
        enqueue(store, 100 + at)
    before = _claim_steps(store)
    with store.transaction() as conn:
        item = conn.execute("INSERT INTO items (kind, title) VALUES ('track', 'x')").lastrowid
        conn.executemany(
            "INSERT INTO plays (profile, item_id, watched_at) VALUES ('default', ?, ?)",
            ((item, 10_000 + i) for i in range(5000)),
        )
        conn.execute(
            "INSERT INTO jobs (kind, service, profile, play_id, state, scheduled_at, unique_key)"
            " SELECT 'scrobble', ?, 'default', id, 'completed', 0, 'done:' || id FROM plays"
            " WHERE watched_at >= 10000",
            (LB,),
        )
    after = _claim_steps(store)
    assert after <= before * 1.5 + 5


def _claim_plan(store: Store) -> list[str]:
    """EXPLAIN QUERY PLAN of the claim statement exactly as `claim_ids` sends it."""
    sent: list[str] = []
    store.conn.set_trace_callback(sent.append)
    claim(store, limit=5)
    store.conn.set_trace_callback(None)
    statement = next(s for s in sent if s.lstrip().startswith("UPDATE jobs SET state = 'running'"))
    return [row[3] for row in store.conn.execute(f"EXPLAIN QUERY PLAN {statement}")]


def test_claiming_walks_the_pending_jobs_index_in_play_order_without_sorting(store: Store) -> None:
    """issue #25: a batch is an index range of `limit` rows, not a sort of every due job."""
    for at in (300, 100, 200):
        enqueue(store, at)
    plan = _claim_plan(store)
    assert any("USING INDEX idx_jobs_claim_order" in step for step in plan), plan
    assert not any("TEMP B-TREE" in step for step in plan), plan
    assert not any(step.startswith("SCAN") for step in plan), plan


def _claim_only_steps(store: Store, limit: int = 5) -> int:
    """SQLite virtual-machine steps (in hundreds) to claim one batch and read its records."""
    steps, claimed = vm_steps(store.conn, lambda: claim(store, limit=limit, run_id="run-steps"))
    assert len(claimed) == limit
    queue.release(store, claimed)
    return steps


def test_claiming_a_batch_costs_the_same_with_ten_or_five_thousand_queued(store: Store) -> None:
    """issue #25: per-batch cost flat in queue size; the oldest plays still go first."""
    for at in range(10):
        enqueue(store, 1_000_000 + at)
    before = _claim_only_steps(store)
    with store.transaction() as conn:
        item = conn.execute("INSERT INTO items (kind, title) VALUES ('track', 'x')").lastrowid
        plays = [
            conn.execute(
                "INSERT INTO plays (profile, item_id, watched_at) VALUES ('default', ?, ?)",
                (item, 10_000 + i),
            ).lastrowid
            for i in range(5000)
        ]
        for play in plays:
            queue.insert_scrobble_job(conn, LB, "default", play, NOW)
    after = _claim_only_steps(store)
    assert after <= before * 1.5 + 5
    records = queue.claim(store, service=LB, profile="default", limit=3, run_id="r", now=NOW)
    assert [r.watched_at for r in records] == [10_000, 10_001, 10_002]


def test_migration_copies_each_play_time_onto_its_jobs(data_dir: Path) -> None:
    from sqlite_utils import Database

    from scrobctl.store import open_store
    from scrobctl.store.migrations import m012_job_play_time

    store = open_store(data_dir / "scrobctl.db")
    late, early = enqueue(store, 300), enqueue(store, 100)
    store.conn.execute("DROP INDEX idx_jobs_claim_order")
    store.conn.execute("ALTER TABLE jobs DROP COLUMN played_at")

    m012_job_play_time(Database(store.conn))

    assert (job(store, late)["played_at"], job(store, early)["played_at"]) == (300, 100)
    assert claim(store) == [early, late]
    store.close()


def test_an_episode_known_only_by_its_show_ids_is_named_alike_everywhere(store: Store) -> None:
    """Queue list, explain and unscrobble name it the same, by the show's id, never `?`."""
    from scrobctl.store.explain import label
    from scrobctl.store.removals import item_label

    with store.transaction() as conn:
        show = conn.execute("INSERT INTO items (kind, tvdb) VALUES ('show', 371980)").lastrowid
        episode = conn.execute(
            "INSERT INTO items (kind, show_id, season, number) VALUES ('episode', ?, 1, 2)",
            (show,),
        ).lastrowid
        play = conn.execute(
            "INSERT INTO plays (profile, item_id, watched_at) VALUES ('default', ?, 100)",
            (episode,),
        ).lastrowid
        queue.insert_scrobble_job(conn, "trakt", "default", play, NOW)
    row = store.conn.execute(
        "SELECT i.*, s.title AS show_title, s.tmdb AS s_tmdb, s.imdb AS s_imdb,"
        " s.tvdb AS s_tvdb, s.trakt AS s_trakt, s.simkl AS s_simkl"
        " FROM items i LEFT JOIN items s ON s.id = i.show_id WHERE i.id = ?",
        (episode,),
    ).fetchone()

    [listed] = queue.list_jobs(store)

    names = {listed.item, label(row), item_label(store.conn, episode)}
    assert names == {"tvdb:371980 S01E02"}
