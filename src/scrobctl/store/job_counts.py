"""The states a job can be in, and how many jobs each target has in each: counts the triggers
on `jobs` keep (migration m010), so `status` reads them without grouping a million completed
jobs. A module apart from the queue's, which `status` need not import (issue #25)."""

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


def counts(store: Store) -> dict[str, dict[str, int]]:
    """{service: {state: n}} over all jobs, from the counts the jobs table's triggers keep
    (migration m010): grouping a million completed jobs would cost `status` half a second."""
    result: dict[str, dict[str, int]] = {}
    for service, state, n in store.conn.execute(
        "SELECT service, state, n FROM job_counts WHERE n > 0"
    ):
        result.setdefault(service, {})[state] = n
    return result
