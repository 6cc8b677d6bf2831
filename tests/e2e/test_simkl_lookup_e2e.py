"""End to end: a Simkl flush SIGKILLed after the server stored its batch, then run again, against
a fake whose `/sync/all-items` gives episodes only with `extended=full` and files anime in its
own bucket (tests/fakes/simkl.py, after SIMKL/API apiary.apib "Get All Items" l.4277-4299).
The look-up before the resend must find every stored play, episodes and anime included, so none
is stored twice (issue #15)."""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.e2e.conftest import TIMEOUT, Cli, fake_service_env, jsonl, log_in, wait_until
from tests.fakes.simkl import FakeSimkl

DAY = 86_400
SHOW_TVDB = 371_980
ANIME_TVDB = 81_797  # filed by Simkl under anime, though sent under shows


@pytest.fixture
def fake_simkl() -> Iterator[FakeSimkl]:
    fake = FakeSimkl(
        client_id="lookup-simkl-id",
        pending_polls=0,
        interval=1,
        anime_ids={("tvdb", str(ANIME_TVDB))},
    )
    with fake:
        yield fake


def events() -> list[dict[str, Any]]:
    """60 video plays, a third of them episodes (half of those of an anime)."""
    start = int(time.time()) - 3 * DAY
    plays: list[dict[str, Any]] = []
    for i in range(60):
        at = start + i * 3600
        if i % 3 == 0:
            tvdb = ANIME_TVDB if i % 2 else SHOW_TVDB
            plays.append(
                {
                    "type": "episode",
                    "show": {"title": f"Show {tvdb}", "ids": {"tvdb": tvdb}},
                    "season": 1,
                    "number": i // 3 + 1,
                    "duration_ms": 3_300_000,
                    "percentage": 95,
                    "watched_at": at,
                }
            )
        else:
            plays.append(
                {
                    "type": "movie",
                    "ids": {"tmdb": 800_000 + i},
                    "duration_ms": 6_000_000,
                    "percentage": 95,
                    "watched_at": at,
                }
            )
    return plays


def stored(fake: FakeSimkl) -> Counter[tuple[Any, ...]]:
    with fake.lock:
        return Counter(
            (
                p.kind,
                tuple(sorted((k, str(v)) for k, v in p.ids.items())),
                p.watched_at,
                p.season,
                p.number,
            )
            for p in fake.plays
        )


def test_simkl_flush_killed_after_the_server_stored_60_plays_sends_none_twice(
    cli: Cli,
    cli_env: dict[str, str],
    popen_cli: Callable[..., subprocess.Popen[str]],
    fake_simkl: FakeSimkl,
) -> None:
    cli_env.update(fake_service_env(simkl=fake_simkl))
    log_in(cli, "simkl")
    plays = events()
    assert cli("scrobble", input=jsonl(plays)).returncode == 0
    hold = fake_simkl.hold("POST", "/sync/history")

    proc = popen_cli("flush")
    wait_until(lambda: bool(hold.held) or proc.poll() is not None, timeout=TIMEOUT)
    assert proc.poll() is None, "the flush ended before its batch was stored"
    proc.kill()
    proc.wait(timeout=TIMEOUT)
    hold.release.set()
    first = stored(fake_simkl)
    assert sum(first.values()) == 60 and set(first.values()) == {1}
    time.sleep(1.1)  # Simkl takes one POST a second

    again = cli("flush")

    assert again.returncode == 0, again.stderr
    assert stored(fake_simkl) == first, "a play was stored twice"
    lookups = [r.query for r in fake_simkl.requests_to("/sync/all-items")]
    assert lookups and all(q.get("extended") == ["full"] for q in lookups)
    assert "60 already there" in again.stderr
