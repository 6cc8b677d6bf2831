"""notify.flush_notices and deliver: one message per cause (issue 17), against a fake ntfy
server on 127.0.0.1 through Apprise's ntfy:// scheme."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from scrobctl.config import Settings
from scrobctl.notify import FAILING_FOR, deliver, flush_notices
from scrobctl.runtime import Runtime
from scrobctl.scrobble.flush import FlushReport, ServiceReport
from scrobctl.store import connections
from tests.conftest import FakeClock
from tests.fakes.ntfy import FakeNtfy
from tests.fakes.server import Reply

TOPIC = "scrobctl-unit"


@pytest.fixture
def ntfy() -> Iterator[FakeNtfy]:
    with FakeNtfy() as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
def notifying_ntfy(data_dir: Path, ntfy: FakeNtfy, clock: FakeClock) -> Iterator[Runtime]:
    """Failed runs are notified to the fake ntfy topic; the Trakt login is the failing target."""
    settings = Settings(notify={"url": f"ntfy://{urlsplit(ntfy.url).netloc}/{TOPIC}"})
    rt = Runtime(settings=settings, warn=lambda _: None, clock=clock)
    connections.save_login(rt.store(), "default", "trakt", "rob")
    yield rt
    rt.close()


def failed_run(error: str = "HTTP 503") -> FlushReport:
    return FlushReport([ServiceReport("trakt", "default", retry_scheduled=3, error=error)])


def test_a_target_failing_for_a_day_is_notified_once(
    notifying_ntfy: Runtime, ntfy: FakeNtfy, clock: FakeClock
) -> None:
    for _ in range(4):  # every 8 hours: the first run dates the failures, the fourth is a day on
        deliver(notifying_ntfy, flush_notices(notifying_ntfy, failed_run()))
        clock.t += FAILING_FOR / 3
    deliver(notifying_ntfy, flush_notices(notifying_ntfy, failed_run()))

    [message] = ntfy.received(TOPIC)
    assert message.title == "scrobctl: trakt has failed for a day"
    assert "HTTP 503" in message.message


def test_a_send_that_works_starts_the_day_again(
    notifying_ntfy: Runtime, ntfy: FakeNtfy, clock: FakeClock
) -> None:
    deliver(notifying_ntfy, flush_notices(notifying_ntfy, failed_run()))
    clock.t += FAILING_FOR - 60
    deliver(
        notifying_ntfy,
        flush_notices(notifying_ntfy, FlushReport([ServiceReport("trakt", "default", 5)])),
    )
    clock.t += 120
    deliver(notifying_ntfy, flush_notices(notifying_ntfy, failed_run()))

    assert ntfy.received(TOPIC) == []


def test_plays_given_up_are_notified_once_per_batch(
    notifying_ntfy: Runtime, ntfy: FakeNtfy
) -> None:
    store = notifying_ntfy.store()
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO jobs (kind, service, profile, state, attempt, max_attempts, errors,"
            " unique_key) VALUES ('scrobble', 'trakt', 'default', 'discarded', 10, 10, '[]', 'k1')"
        )
    report = FlushReport(
        [ServiceReport("trakt", "default", discarded=1, error="HTTP 502 from Trakt")]
    )

    deliver(notifying_ntfy, flush_notices(notifying_ntfy, report))
    deliver(notifying_ntfy, flush_notices(notifying_ntfy, report))

    [message] = ntfy.received(TOPIC)
    assert message.title == "scrobctl: 1 play given up for trakt"
    assert "queue retry --state discarded" in message.message


def test_an_undelivered_notice_is_tried_again_next_run(
    notifying_ntfy: Runtime, ntfy: FakeNtfy, clock: FakeClock
) -> None:
    connections.mark_reconnect_required(notifying_ntfy.store(), "default", "trakt", "refused")
    report = FlushReport([ServiceReport("trakt", "default", reconnect="refused")])
    ntfy.inject("/", Reply(500, {"code": 50001, "http": 500, "error": "internal error"}))

    problems = deliver(notifying_ntfy, flush_notices(notifying_ntfy, report))
    deliver(notifying_ntfy, flush_notices(notifying_ntfy, report))

    assert problems and "not delivered" in problems[0]
    [message] = ntfy.received(TOPIC)
    assert message.title == "scrobctl: trakt needs a new login"
