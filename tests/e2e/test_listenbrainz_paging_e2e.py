"""End to end: `scrobctl import listenbrainz` against a fake whose listen selection copies the
server's code (tests/fakes/listenbrainz.py `fetch_listens`, after listenbrainz-server
listenstore/timescale_listenstore.py l.209-387): with `min_ts` a page holds the OLDEST `count`
listens after it, so a reader that sends `min_ts` must walk it forward (issue #15)."""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from tests.e2e.conftest import Cli, status_json
from tests.fakes.listenbrainz import FakeListenBrainz
from tests.fakes.server import Reply

DAY = 86_400
STEP = 60  # the fake's history: listen i at history_start + i * 60


def listened_at(data: Path) -> list[int]:
    with closing(sqlite3.connect(data / "scrobctl.db")) as conn:
        rows = conn.execute("SELECT watched_at FROM plays ORDER BY watched_at").fetchall()
    return [at for (at,) in rows]


def import_lb(cli: Cli, *args: str) -> None:
    result = cli("import", "listenbrainz", *args, timeout=60)
    assert result.returncode == 0, result.stderr


def test_import_listenbrainz_after_2500_new_listens_brings_all_2500(
    cli: Cli, fake_lb: FakeListenBrainz, logged_in: object, cli_env: dict[str, str]
) -> None:
    fake_lb.history_start = int(time.time()) - 20 * DAY
    fake_lb.history_size = 3_000
    import_lb(cli)
    fake_lb.history_size = 5_500  # 2,500 new listens arrive

    import_lb(cli)

    data = Path(cli_env["SCROBCTL_DATA_DIR"])
    expected = [fake_lb.history_start + i * STEP for i in range(5_500)]
    assert listened_at(data) == expected
    assert status_json(cli)["plays"] == 5_500


def test_import_listenbrainz_since_on_a_fresh_archive_brings_exactly_the_listens_after_it(
    cli: Cli, fake_lb: FakeListenBrainz, logged_in: object, cli_env: dict[str, str]
) -> None:
    day = datetime.now(UTC).date().toordinal() - 10
    since = int(datetime.fromordinal(day).replace(tzinfo=UTC).timestamp())
    fake_lb.history_start = since - 3 * DAY + 30  # no listen falls on midnight itself
    fake_lb.history_size = 3 * 1440 + 2_700  # three days before D, 2,700 listens after it
    d = datetime.fromtimestamp(since, UTC).date().isoformat()

    import_lb(cli, "--since", d)

    data = Path(cli_env["SCROBCTL_DATA_DIR"])
    times = [fake_lb.history_start + i * STEP for i in range(fake_lb.history_size)]
    assert listened_at(data) == [t for t in times if t >= since]
    assert len(listened_at(data)) == 2_700


def test_import_listenbrainz_from_a_server_without_listens_fails_naming_it_not_imported_0(
    cli: Cli, fake_lb: FakeListenBrainz, logged_in: object
) -> None:
    # Maloja's ListenBrainz API has only submit-listens and validate-token; what it lacks it
    # answers 200 {"code": 200, "error": "Invalid Method"} (api-notes corrections item 6).
    fake_lb.history_size = 10
    fake_lb.inject("/1/user/rob/listens", Reply(200, {"code": 200, "error": "Invalid Method"}))

    result = cli("import", "listenbrainz", timeout=60)

    assert result.returncode != 0
    assert fake_lb.url in result.stderr and "payload.listens" in result.stderr
    assert "Invalid Method" in result.stderr
    assert "imported: 0" not in result.stderr
