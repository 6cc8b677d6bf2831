"""Plain helpers several unit-test files share, so each stays one copy (fixtures: conftest.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pylast
import yaml

from scrobctl.http import make_client
from scrobctl.runtime import Runtime
from scrobctl.scrobble.enqueue import Ingest
from scrobctl.scrobble.events import Event, Line
from scrobctl.scrobble.flush import FlushReport, ServiceReport, flush
from scrobctl.store import queue
from tests.conftest import FakeClock

PROFILE = "default"
CASSETTES = Path(__file__).resolve().parent.parent / "cassettes"
WEEK = 7 * 86_400


# -- the flush ----------------------------------------------------------------------------------


def run_flush(runtime: Runtime) -> FlushReport:
    """One `flush` run to completion, as the CLI command runs it."""
    return asyncio.run(flush(runtime))


def only(report: FlushReport) -> ServiceReport:
    """The report's one service line (these tests have one profile, one service)."""
    assert len(report.services) == 1
    return report.services[0]


def queue_plays(runtime: Runtime, service: str, events: list[Event]) -> None:
    """Queue every event for `service` through the real ingest, asserting each made one job."""
    routes = {PROFILE: {"movie": [service], "episode": [service], "track": [service]}}
    lines = [Line(i + 1, event) for i, event in enumerate(events)]
    feed = Ingest(runtime.store(), routes, now=runtime.clock.now())
    assert feed.run(lines).jobs == {service: len(events)}


def leave_running(runtime: Runtime, clock: FakeClock) -> None:
    """As a run killed after sending leaves its batch: running, attempt 1, another run id."""
    with runtime.store().transaction() as conn:
        conn.execute(
            "UPDATE jobs SET state = 'running', run_id = 'dead', attempt = 1, lease_expires_at = ?",
            (clock.now() + queue.LEASE_SECONDS,),
        )


# -- video plays the Trakt and Simkl senders queue -------------------------------------------------


def movie(at: int, **ids: Any) -> Event:
    """A finished movie play, known by `ids`, at `at`."""
    return Event.model_validate(
        {"type": "movie", "ids": ids, "duration_ms": 8_160_000, "percentage": 95, "watched_at": at}
    )


def episode(at: int, show: int, season: int, number: int, **ids: Any) -> Event:
    """A finished episode play of the show with tvdb id `show`, with the episode's own `ids`."""
    return Event.model_validate(
        {
            "type": "episode",
            "show": {"title": f"Show {show}", "ids": {"tvdb": show}},
            "season": season,
            "number": number,
            "ids": ids,
            "duration_ms": 3_300_000,
            "percentage": 95,
            "watched_at": at,
        }
    )


# -- service credentials ----------------------------------------------------------------------


def trakt_token_set(access: str, created_at: int, refresh: str) -> dict[str, Any]:
    """A Trakt token answer as stored after login: a week's access token made at `created_at`."""
    return {
        "access_token": access,
        "refresh_token": refresh,
        "expires_in": WEEK,
        "created_at": created_at,
        "token_type": "bearer",
        "scope": "public",
    }


def pylast_signature(
    params: dict[str, str], api_key: str, api_secret: str, session_key: str
) -> str:
    """What pylast would sign for the same call with the same API account and session."""
    network = pylast.LastFMNetwork(api_key=api_key, api_secret=api_secret, session_key=session_key)
    signed = {
        k: v for k, v in params.items() if k not in ("method", "api_key", "sk", "api_sig", "format")
    }
    oracle = pylast._Request(network, params["method"], signed)
    oracle.sign_it()
    return oracle.params["api_sig"]


# -- imports ------------------------------------------------------------------------------------


def watched_times(runtime: Runtime) -> list[int]:
    """Every stored play's time, newest first."""
    rows = runtime.store().conn.execute("SELECT watched_at FROM plays ORDER BY watched_at DESC")
    return [r[0] for r in rows]


# -- cassettes ----------------------------------------------------------------------------------


def interactions(service: str, name: str) -> list[dict[str, Any]]:
    """The recorded request/answer pairs of cassettes/{service}/{name}."""
    data = yaml.safe_load((CASSETTES / service / name).read_text(encoding="utf-8"))
    return data["interactions"]


def capturing(sent: list[httpx.Request]) -> Callable[[], httpx.AsyncClient]:
    """The production client, keeping every request it sends."""

    async def keep(request: httpx.Request) -> None:
        sent.append(request)

    def build() -> httpx.AsyncClient:
        client = make_client()
        client.event_hooks = {"request": [keep], "response": []}
        return client

    return build


# -- the CLI's JSON envelope (README "JSON output") ---------------------------------------------


def json_envelope(text: str) -> dict[str, Any]:
    """A --json answer, checked to be the one envelope: `{"data", "exit_code"}` or `{"error":
    {"message", "hint", "exit_code"}}`."""
    import json

    envelope = json.loads(text)
    assert isinstance(envelope, dict), text
    if "error" in envelope:
        assert set(envelope) == {"error"}, text
        assert set(envelope["error"]) == {"message", "hint", "exit_code"}, text
    else:
        assert set(envelope) == {"data", "exit_code"}, text
        assert isinstance(envelope["exit_code"], int), text
    return envelope


def json_data(text: str) -> Any:
    """The data of a successful --json answer (its envelope checked)."""
    envelope = json_envelope(text)
    assert "data" in envelope, text
    return envelope["data"]


def json_error(text: str) -> dict[str, Any]:
    """The error of a failed --json answer: message, hint and exit code apart."""
    envelope = json_envelope(text)
    assert "error" in envelope, text
    return envelope["error"]
