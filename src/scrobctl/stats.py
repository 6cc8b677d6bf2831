"""`scrobctl stats`: the archive at a glance (use case; the SQL is in store/stats.py)."""

from __future__ import annotations

import time

from scrobctl.runtime import Runtime
from scrobctl.scrobble.routing import takes
from scrobctl.store import connections
from scrobctl.store.stats import WEEK, ArchiveStats, archive_stats

CHART_WEEKS = 26  # without --since, the chart shows the last half year


def stats(runtime: Runtime, *, since: int | None, kind: str | None, top: int = 10) -> ArchiveStats:
    now = runtime.clock.now()
    offset = time.localtime(now).tm_gmtoff
    store = runtime.store()
    media = {
        c.service: takes(runtime.settings, c.service) for c in connections.list_connections(store)
    }
    return archive_stats(
        store.conn,
        since=since,
        kind=kind,
        week_from=int(now) - CHART_WEEKS * WEEK if since is None else since,
        utc_offset=offset,
        target_media=media,
        top=top,
    )
