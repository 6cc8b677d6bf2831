"""Named targets (issue #19): the migration that makes today's connections targets, routing by
kind, login hints that name the kind, and Last.fm answers judged by their `@attr` counts."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from scrobctl.config import load_settings
from scrobctl.errors import ServiceUnavailable, login_hint
from scrobctl.scrobble.routing import routes
from scrobctl.services import lastfm, maloja
from scrobctl.store import connections, open_store
from scrobctl.store.db import Store
from scrobctl.store.migrations import MIGRATIONS


def test_migration_turns_existing_connections_into_targets_named_after_their_kind(
    tmp_path: Path,
) -> None:
    path = tmp_path / "scrobctl.db"
    conn = sqlite3.connect(path, isolation_level=None)
    db = Database(conn)
    db["_migrations"].create({"name": str, "applied_at": float}, pk="name")
    for index, migration in enumerate(MIGRATIONS[:4], start=1):
        migration(db)
        db["_migrations"].insert({"name": migration.__name__, "applied_at": time.time()})
        conn.execute(f"PRAGMA user_version = {index}")
    conn.execute(
        "INSERT INTO connections (profile, service, enabled, account, status)"
        " VALUES ('default', 'lastfm', 1, 'me', 'ok')"
    )
    conn.close()

    store = open_store(path)

    [found] = connections.list_connections(store)
    assert (found.name, found.kind, found.url, found.server) == ("lastfm", "lastfm", None, None)
    names = [r[0] for r in store.conn.execute("SELECT name FROM _migrations")]
    assert "m009_targets" in names
    store.close()


def test_routing_sends_tracks_to_every_target_whose_kind_takes_them(store: Store) -> None:
    connections.save_login(store, "default", "listenbrainz", "me")
    connections.save_login(
        store, "default", "maloja", "me", kind="listenbrainz", url="http://h/apis/listenbrainz"
    )
    connections.save_login(store, "default", "trakt", "me")

    table = routes(load_settings(), connections.list_connections(store))["default"]

    assert table["track"] == ["listenbrainz", "maloja"]
    assert table["movie"] == ["trakt"]


def test_routing_explicit_route_names_a_target(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCROBCTL_PROFILES__DEFAULT__ROUTES__TRACK", '["maloja"]')
    connections.save_login(store, "default", "listenbrainz", "me")
    connections.save_login(store, "default", "maloja", "me", kind="listenbrainz", url="http://h")

    table = routes(load_settings(), connections.list_connections(store))["default"]

    assert table["track"] == ["maloja"]


def test_login_hint_names_the_kind_of_a_named_target() -> None:
    assert login_hint("maloja", "default", "listenbrainz") == (
        "run `scrobctl login listenbrainz --name maloja`"
    )
    assert login_hint("lastfm", "default", "lastfm") == "run `scrobctl login lastfm`"


def test_maloja_root_is_found_from_either_api_url() -> None:
    assert maloja.root("http://h:42010/apis/listenbrainz") == "http://h:42010"
    assert maloja.root("http://h:42010/music/apis/audioscrobbler/2.0/") == "http://h:42010/music"
    assert maloja.root("http://h:42010") == "http://h:42010"


class _Answer:
    """A LastfmClient stand-in that answers track.scrobble with a fixed body."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        self.sent: list[dict[str, str]] = []

    async def call(self, method: str, params: dict[str, str], **_: Any) -> dict[str, Any]:
        self.sent.append(params)
        return self.body


def _one(body: dict[str, Any]) -> tuple[lastfm.Ignored | None, dict[str, str]]:
    import asyncio

    client = _Answer(body)
    scrobble = lastfm.Scrobble("A", "T", 1_700_000_000, album="Al")
    result = asyncio.run(lastfm.scrobble_one(client, scrobble))  # type: ignore[arg-type]
    return result, client.sent[0]


def test_lastfm_single_scrobble_judged_by_attr_counts_when_no_scrobble_element() -> None:
    result, sent = _one({"scrobbles": {"@attr": {"ignored": 0}}})

    assert result is None
    assert sent["artist"] == "A" and sent["track"] == "T" and sent["timestamp"] == "1700000000"
    assert not any("[" in key for key in sent)


def test_lastfm_single_scrobble_ignored_by_count_is_not_a_success() -> None:
    result, _ = _one({"scrobbles": {"@attr": {"accepted": 0, "ignored": 1}}})

    assert isinstance(result, lastfm.Ignored)


def test_lastfm_scrobble_answer_without_result_is_an_error() -> None:
    with pytest.raises(ServiceUnavailable):
        _one({"scrobbles": {}})


class _IndexedFails:
    """A compatible server like Maloja's audioscrobbler: the indexed form fails with error 8
    (apis/audioscrobbler.py l.111-118), the single form answers only counts (l.120)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, str]] = []

    async def call(self, method: str, params: dict[str, str], **_: Any) -> dict[str, Any]:
        self.calls.append(params)
        if any("[" in key for key in params):
            raise lastfm.LastfmUnavailable(8, "Operation failed")
        return {"scrobbles": {"@attr": {"ignored": 0}}}


def _play(i: int) -> Any:
    from scrobctl.store.records import PlayRecord

    return PlayRecord(
        job_id=i,
        play_id=i,
        kind="track",
        watched_at=1_700_000_000 + i * 300,
        title=f"T{i}",
        artist="A",
        album=None,
        duration_ms=200_000,
        mbid=None,
        isrc=None,
        ids={},
        show_ids={},
        show_title=None,
        season=None,
        number=None,
    )


def test_lastfm_compatible_target_falls_back_to_single_scrobbles_when_the_batch_fails() -> None:
    import asyncio

    from scrobctl.scrobble.senders.lastfm import LastfmSender
    from scrobctl.targets import Target

    client = _IndexedFails()
    target = Target("default", "librefm", "lastfm", "https://libre.example/2.0/", None)
    sender = LastfmSender(client, 1_700_000_000 + 3_000, target)  # type: ignore[arg-type]
    batch = [(p, sender.prepare(p)) for p in map(_play, range(3))]

    outcomes = asyncio.run(sender.send(batch))

    assert outcomes == [None, None, None]
    assert [sorted(c) for c in client.calls[1:]] == [
        ["artist", "duration", "timestamp", "track"]
    ] * 3


def test_lastfm_own_service_batch_error_8_is_retried_later_not_split() -> None:
    import asyncio

    from scrobctl.scrobble.senders.lastfm import LastfmSender

    sender = LastfmSender(_IndexedFails(), 1_700_000_000 + 3_000)  # type: ignore[arg-type]
    batch = [(p, sender.prepare(p)) for p in map(_play, range(3))]

    with pytest.raises(ServiceUnavailable):
        asyncio.run(sender.send(batch))
