"""End to end: the installed `scrobctl` against a fake ListenBrainz on 127.0.0.1.

Each test drives real processes (login, scrobble, flush, status) and checks what the service
received and what the user saw: exit codes, one-line messages and `status --json`.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import (
    GOOD_TOKEN,
    TIMEOUT,
    Cli,
    jsonl,
    status_json,
    track_events,
    wait_until,
)
from tests.fakes.listenbrainz import FakeListenBrainz
from tests.fakes.server import Reply, Request
from tests.helpers import json_data

SUBMIT = "/1/submit-listens"


def listen_key(listen: dict[str, Any]) -> tuple[int, str]:
    return listen["listened_at"], listen["track_metadata"]["track_name"]


def submit_requests(fake: FakeListenBrainz) -> list[Request]:
    with fake.lock:
        return [r for r in fake.requests if r.path == SUBMIT]


class HeldSubmit:
    """Wraps the fake's handler so that submit call number `call` waits for `release`,
    then is answered normally (the server stored the batch; the client may be gone)."""

    def __init__(self, fake: FakeListenBrainz, call: int) -> None:
        self.fake = fake
        self.call = call
        self.release = threading.Event()
        self.finished = threading.Event()
        self._calls = 0
        self._lock = threading.Lock()
        self._original = fake.handle
        fake.handle = self._handle  # type: ignore[method-assign]

    def _handle(self, request: Request) -> Reply:
        if request.path != SUBMIT:
            return self._original(request)
        with self._lock:
            self._calls += 1
            number = self._calls
        if number != self.call:
            return self._original(request)
        try:
            self.release.wait(timeout=TIMEOUT)
            return self._original(request)
        finally:
            self.finished.set()

    def held_batch(self) -> set[tuple[int, str]]:
        body = submit_requests(self.fake)[self.call - 1].json()
        return {listen_key(listen) for listen in body["payload"]}


# -- login ---------------------------------------------------------------------------------


def test_login_with_good_token_shows_listenbrainz_connection_for_rob(cli: Cli) -> None:
    result = cli("login", "listenbrainz", "--token-stdin", input=GOOD_TOKEN + "\n")

    assert result.returncode == 0, result.stderr
    status = status_json(cli)
    assert status["token_store"] == "file"
    [connection] = status["connections"]
    assert connection["service"] == "listenbrainz"
    assert connection["account"] == "rob"
    assert connection["status"] == "ok"


def test_login_with_bad_token_fails_stores_nothing_and_never_echoes_the_token(
    cli: Cli, isolated_env: Path
) -> None:
    secret = "bad-token-5f3c9e-do-not-print"

    result = cli("login", "listenbrainz", "--token-stdin", input=secret + "\n")

    assert result.returncode != 0
    assert secret not in result.stdout
    assert secret not in result.stderr
    status = cli("status", "--json")
    assert status.returncode == 0, status.stderr
    assert json_data(status.stdout)["connections"] == []
    assert secret not in status.stdout + status.stderr
    assert not (isolated_env / "tokens.json").exists()
    for path in isolated_env.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), f"token written to {path}"


# -- scrobble and flush --------------------------------------------------------------------


def test_flush_sends_2500_listens_in_three_requests_of_at_most_1000(
    cli: Cli, logged_in: Any, fake_lb: FakeListenBrainz
) -> None:
    events = track_events(2500)

    scrobbled = cli("scrobble", input=jsonl(events))
    flushed = cli("flush")

    assert scrobbled.returncode == 0, scrobbled.stderr
    assert flushed.returncode == 0, flushed.stderr
    assert fake_lb.submissions == [1000, 1000, 500]
    received = {listen_key(listen) for listen in fake_lb.received()}
    assert received == {(e["watched_at"], e["title"]) for e in events}


def test_rate_limited_flush_pauses_until_retry_after_then_delivers_the_rest_once(
    cli: Cli, logged_in: Any, fake_lb: FakeListenBrainz
) -> None:
    original = fake_lb.handle
    calls = Counter[str]()

    def second_submit_is_rate_limited(request: Request) -> Reply:
        if request.path == SUBMIT:
            calls[SUBMIT] += 1
            if calls[SUBMIT] == 2:
                body = {"code": 429, "error": "Too many requests"}
                # Long enough that the next flush starts inside it on a loaded CI machine (a
                # CLI start-up took 2 s there, which made a 2 s pause flaky).
                return Reply(429, body, {"Retry-After": "8"})
        return original(request)

    fake_lb.handle = second_submit_is_rate_limited  # type: ignore[method-assign]
    assert cli("scrobble", input=jsonl(track_events(2500))).returncode == 0

    first = cli("flush")
    assert first.returncode == 0, first.stderr
    assert len(fake_lb.accepted) == 1000

    requests_before = len(fake_lb.requests)
    right_away = cli("flush")
    assert right_away.returncode == 0, right_away.stderr
    assert len(fake_lb.requests) == requests_before
    assert len(fake_lb.accepted) == 1000

    # Wait for the pause to end as scrobctl sees it (status stops reporting it), then flush.
    wait_until(
        lambda: status_json(cli)["connections"][0]["deferred_until"] is None,
        timeout=30,
        step=0.2,
    )
    second = cli("flush")

    assert second.returncode == 0, second.stderr
    assert len(fake_lb.accepted) == 2500
    assert len({listen_key(listen) for listen in fake_lb.accepted}) == 2500
    assert len(fake_lb.received()) == 2500


@pytest.mark.parametrize("held_call", [1, 2], ids=["first-request-held", "second-request-held"])
def test_flush_killed_mid_request_loses_nothing_and_resends_only_the_batch_in_flight(
    cli: Cli, logged_in: Any, fake_lb: FakeListenBrainz, popen_cli: Any, held_call: int
) -> None:
    assert cli("scrobble", input=jsonl(track_events(2500))).returncode == 0
    held = HeldSubmit(fake_lb, held_call)

    proc = popen_cli("flush")
    wait_until(lambda: len(submit_requests(fake_lb)) >= held_call or proc.poll() is not None)
    assert proc.poll() is None, "flush ended before the held request was sent"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=TIMEOUT)
    assert proc.returncode == -signal.SIGKILL
    # The server now stores the batch the dead client was waiting on (worst case for dupes).
    held.release.set()
    assert held.finished.wait(timeout=TIMEOUT)

    again = cli("flush")

    assert again.returncode == 0, again.stderr
    assert len(fake_lb.received()) == 2500
    in_flight = held.held_batch()
    sent_twice = {key for key, n in Counter(map(listen_key, fake_lb.accepted)).items() if n > 1}
    assert sent_twice <= in_flight
    assert max(Counter(map(listen_key, fake_lb.accepted)).values()) <= 2
    status = status_json(cli)
    assert status["queue"]["listenbrainz"]["completed"] == 2500


def test_same_events_piped_twice_queue_each_play_once(
    cli: Cli, logged_in: Any, fake_lb: FakeListenBrainz
) -> None:
    events = jsonl(track_events(100))

    first = cli("scrobble", input=events)
    second = cli("scrobble", input=events)

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert "duplicate 100" in second.stderr
    assert "queued 0" in second.stderr
    status = status_json(cli)
    assert status["plays"] == 100
    assert status["queue"]["listenbrainz"]["available"] == 100
    flushed = cli("flush")
    assert flushed.returncode == 0, flushed.stderr
    assert fake_lb.submissions == [100]
    assert len(fake_lb.received()) == 100


def test_scrobble_reports_invalid_line_numbers_exits_1_and_queues_valid_lines(
    cli: Cli, logged_in: Any
) -> None:
    good = track_events(3)
    lines = [
        json.dumps(good[0]),
        "this is not json",
        json.dumps(good[1]),
        json.dumps({"type": "track", "title": "No Artist", "duration_ms": 200_000}),
        json.dumps(good[2]),
        json.dumps({"type": "hologram", "title": "Nope"}),
    ]

    result = cli("scrobble", input="\n".join(lines) + "\n")

    assert result.returncode == 1
    reported = {
        line.split(":")[0] for line in result.stderr.splitlines() if line.startswith("line ")
    }
    assert reported == {"line 2", "line 4", "line 6"}
    status = status_json(cli)
    assert status["plays"] == 3
    assert status["queue"]["listenbrainz"]["available"] == 3


def test_overlapping_flush_exits_4_at_once_while_another_holds_the_lock(
    cli: Cli, logged_in: Any, fake_lb: FakeListenBrainz, popen_cli: Any
) -> None:
    assert cli("scrobble", input=jsonl(track_events(10))).returncode == 0
    held = HeldSubmit(fake_lb, 1)
    first = popen_cli("flush")
    wait_until(lambda: len(submit_requests(fake_lb)) >= 1 or first.poll() is not None)
    assert first.poll() is None, "the first flush ended before its request was held"

    try:
        overlapping = cli("flush")
    finally:
        held.release.set()

    assert overlapping.returncode == 4
    assert len(overlapping.stderr.strip().splitlines()) == 1
    assert "another `scrobctl flush` is running" in overlapping.stderr
    assert len(submit_requests(fake_lb)) == 1  # the overlapping run sent nothing
    _, err = first.communicate(timeout=TIMEOUT)
    assert first.returncode == 0, err
    assert fake_lb.submissions == [10]


def test_empty_flush_without_database_prints_nothing_and_exits_0(
    cli: Cli, isolated_env: Path
) -> None:
    result = cli("flush")

    assert result.returncode == 0
    assert result.stdout == ""
    assert result.stderr == ""
    assert not (isolated_env / "scrobctl.db").exists()


def test_revoked_token_makes_flush_exit_3_keeps_jobs_and_marks_reconnect_required(
    cli: Cli, logged_in: Any, fake_lb: FakeListenBrainz
) -> None:
    assert cli("scrobble", input=jsonl(track_events(10))).returncode == 0
    fake_lb.tokens.clear()  # the user revoked the token: submit answers 401

    result = cli("flush")

    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "scrobctl login listenbrainz" in lines[0]
    assert fake_lb.accepted == []
    status = status_json(cli)
    assert status["queue"]["listenbrainz"]["available"] == 10
    assert status["connections"][0]["status"] == "reconnect_required"
