"""The states a job can be in, a scrobble job's unique key, and how many jobs each target has
in each state: counts the triggers on `jobs` keep (migration m010), so `status` reads them without
grouping a million completed jobs. A module apart from the queue's, which `status` need not
import (issue #25)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scrobctl.store.db import Store

AVAILABLE = "available"
RUNNING = "running"
RETRYABLE = "retryable"
COMPLETED = "completed"
DISCARDED = "discarded"
REJECTED = "rejected"
STATES = (AVAILABLE, RUNNING, RETRYABLE, COMPLETED, DISCARDED, REJECTED)

SCROBBLE = "scrobble"  # the kind of job that sends a play


def scrobble_key_sql(service: str, play_id: str) -> str:
    """The unique key of a play's scrobble job for a service, `scrobble:<service>:<play id>`,
    as an SQL expression of two others (parameters or columns): the one place it is spelled,
    for the statements that queue a job and the queries that look for one."""
    return f"'{SCROBBLE}:' || {service} || ':' || {play_id}"


def counts(store: Store) -> dict[str, dict[str, int]]:
    """{service: {state: n}} over all jobs, from the counts the jobs table's triggers keep
    (migration m010): grouping a million completed jobs would cost `status` half a second."""
    result: dict[str, dict[str, int]] = {}
    for service, state, n in store.conn.execute(
        "SELECT service, state, n FROM job_counts WHERE n > 0"
    ):
        result.setdefault(service, {})[state] = n
    return result
