"""`unscrobble`: a play leaves the archive in one transaction and its removals are jobs that
`flush` sends, done only on the server's word (trakt/trakt-api historyRemoveResponseSchema,
api-notes 10.2 for Simkl, listenbrainz-server api.py `delete_listen`). respx stands in for the
services."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx

from scrobctl.runtime import Runtime
from scrobctl.scrobble.events import Event
from scrobctl.scrobble.unscrobble import unscrobble
from scrobctl.store import queue
from scrobctl.store.imports import ImportedPlay, ImportWriter
from scrobctl.store.items import ItemRef
from scrobctl.store.removals import UNSCROBBLE
from tests.helpers import movie, queue_plays, run_flush

PROFILE = "default"
WEEK = 7 * 86_400
AT = 1_794_903_600  # 2026-11-17T08:20:00Z, a day before FakeClock's start
AT_ISO = "2026-11-17T08:20:00.000Z"
TRAKT_API = "https://api.trakt.tv"
SIMKL_API = "https://api.simkl.com"
LB_API = "https://api.listenbrainz.org"
MSID = "d23f4719-9212-49f0-ad08-ddbfbfc50d6f"


def song(at: int = AT) -> Event:
    return Event.model_validate(
        {
            "type": "track",
            "title": "Hurt",
            "artist": "Johnny Cash",
            "duration_ms": 218_000,
            "watched_ms": 200_000,
            "watched_at": at,
        }
    )


def sent(runtime: Runtime, service: str, event: Event) -> int:
    """Queue the play for `service` and mark it sent, as a flush would; its play id."""
    queue_plays(runtime, service, [event])
    return mark_sent(runtime, service)


def mark_sent(runtime: Runtime, service: str) -> int:
    store = runtime.store()
    row = store.conn.execute(
        "SELECT id, play_id FROM jobs WHERE service = ? ORDER BY id DESC LIMIT 1", (service,)
    ).fetchone()
    queue.complete(store, [row["id"]], runtime.clock.now())
    return row["play_id"]


def removal_jobs(runtime: Runtime) -> list[dict[str, Any]]:
    rows = runtime.store().conn.execute(
        "SELECT service, state, outcome, payload FROM jobs WHERE kind = ? ORDER BY service",
        (UNSCROBBLE,),
    )
    return [dict(r) for r in rows]


def count(runtime: Runtime, table: str) -> int:
    return runtime.store().conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


# -- the archive side ---------------------------------------------------------------------------


def test_unscrobble_removes_the_play_and_queues_a_removal_for_each_target_that_has_it(
    logged_in_everywhere: Runtime,
) -> None:
    play = sent(logged_in_everywhere, "trakt", movie(AT, tmdb=603))
    queue_plays(
        logged_in_everywhere, "simkl", [movie(AT, tmdb=603)]
    )  # the same play, for Simkl too
    mark_sent(logged_in_everywhere, "simkl")

    report = unscrobble(logged_in_everywhere, [play], None, dry_run=False)

    assert [(t.service, t.action) for t in report.plays[0].targets] == [
        ("simkl", "queued"),
        ("trakt", "queued"),
    ]
    assert (
        count(logged_in_everywhere, "plays") == 0 and count(logged_in_everywhere, "scrobbles") == 0
    )
    jobs = removal_jobs(logged_in_everywhere)
    assert [(j["service"], j["state"]) for j in jobs] == [
        ("simkl", "available"),
        ("trakt", "available"),
    ]
    assert json.loads(jobs[0]["payload"]) == {"watched_at": AT, "remote_id": None}


def test_unscrobble_of_a_play_not_sent_yet_drops_its_job_and_queues_nothing(
    logged_in_everywhere: Runtime,
) -> None:
    queue_plays(logged_in_everywhere, "listenbrainz", [song()])
    play = logged_in_everywhere.store().conn.execute("SELECT id FROM plays").fetchone()[0]

    report = unscrobble(logged_in_everywhere, [play], None, dry_run=False)

    assert [(t.service, t.action) for t in report.plays[0].targets] == [("listenbrainz", "dropped")]
    assert count(logged_in_everywhere, "jobs") == 0 and count(logged_in_everywhere, "plays") == 0


def test_unscrobble_dry_run_changes_nothing(logged_in_everywhere: Runtime) -> None:
    play = sent(logged_in_everywhere, "trakt", movie(AT, tmdb=603))

    report = unscrobble(logged_in_everywhere, [play], None, dry_run=True)

    assert [t.action for t in report.plays[0].targets] == ["queued"]
    assert (
        count(logged_in_everywhere, "plays") == 1 and count(logged_in_everywhere, "scrobbles") == 1
    )
    assert removal_jobs(logged_in_everywhere) == []


def test_unscrobble_leaves_a_play_a_flush_is_sending_untouched(
    logged_in_everywhere: Runtime,
) -> None:
    queue_plays(logged_in_everywhere, "trakt", [movie(AT, tmdb=603)])
    with logged_in_everywhere.store().transaction() as conn:
        conn.execute("UPDATE jobs SET state = 'running'")
    play = logged_in_everywhere.store().conn.execute("SELECT id FROM plays").fetchone()[0]

    report = unscrobble(logged_in_everywhere, [play], None, dry_run=False)

    assert report.plays[0].busy == ["trakt"] and report.failed
    assert count(logged_in_everywhere, "plays") == 1 and count(logged_in_everywhere, "jobs") == 1


def test_unscrobble_from_one_target_keeps_the_play_in_the_archive_and_on_the_others(
    logged_in_everywhere: Runtime,
) -> None:
    play = sent(logged_in_everywhere, "trakt", movie(AT, tmdb=603))
    queue_plays(logged_in_everywhere, "simkl", [movie(AT, tmdb=603)])
    mark_sent(logged_in_everywhere, "simkl")

    report = unscrobble(logged_in_everywhere, [play], {"trakt"}, dry_run=False)

    assert not report.plays[0].removed_from_archive
    assert [j["service"] for j in removal_jobs(logged_in_everywhere)] == ["trakt"]
    services = logged_in_everywhere.store().conn.execute("SELECT service FROM scrobbles").fetchall()
    assert [r[0] for r in services] == ["simkl"]
    assert count(logged_in_everywhere, "plays") == 1


def test_unscrobble_from_lastfm_says_to_delete_it_by_hand_on_the_library_page(
    logged_in_everywhere: Runtime,
) -> None:
    play = sent(logged_in_everywhere, "lastfm", song())

    report = unscrobble(logged_in_everywhere, [play], None, dry_run=False)

    [target] = report.plays[0].targets
    assert target.action == "manual"
    assert target.manual_url is not None
    assert target.manual_url.startswith("https://www.last.fm/user/rob/library?from=2026-11-1")
    assert removal_jobs(logged_in_everywhere) == []  # Last.fm has no API for it: nothing to queue


def test_unscrobble_of_an_unknown_play_says_so(logged_in_everywhere: Runtime) -> None:
    report = unscrobble(logged_in_everywhere, [999], None, dry_run=False)

    assert not report.plays[0].found and report.failed


def test_import_keeps_a_listens_recording_msid_for_its_removal(
    logged_in_everywhere: Runtime,
) -> None:
    store = logged_in_everywhere.store()
    ref = ItemRef("track", {}, title="Hurt", artist="Johnny Cash")
    with store.transaction():
        ImportWriter(store, PROFILE, "listenbrainz").play(ImportedPlay(ref, AT, MSID))
    play = store.conn.execute("SELECT id FROM plays").fetchone()[0]

    unscrobble(logged_in_everywhere, [play], None, dry_run=False)

    [job] = removal_jobs(logged_in_everywhere)
    assert json.loads(job["payload"])["remote_id"] == MSID


# -- the removal senders under flush --------------------------------------------------------------


def trakt_entry(history_id: int, at_iso: str, tmdb: int) -> dict[str, Any]:
    return {
        "id": history_id,
        "watched_at": at_iso,
        "action": "watch",
        "type": "movie",
        "movie": {"title": "The Matrix", "year": 1999, "ids": {"tmdb": tmdb, "trakt": 481}},
    }


def test_trakt_removal_deletes_the_history_id_of_the_play_and_no_other(
    logged_in_everywhere: Runtime, api: respx.MockRouter
) -> None:
    unscrobble(
        logged_in_everywhere,
        [sent(logged_in_everywhere, "trakt", movie(AT, tmdb=603))],
        None,
        dry_run=False,
    )
    history = [
        trakt_entry(41, "2026-11-17T08:20:30.000Z", 603),  # the same movie, another play
        trakt_entry(42, AT_ISO, 603),
        trakt_entry(43, AT_ISO, 604),  # another movie at the same time
    ]
    api.get(f"{TRAKT_API}/sync/history").mock(return_value=httpx.Response(200, json=history))
    remove = api.post(f"{TRAKT_API}/sync/history/remove").mock(
        return_value=httpx.Response(200, json={"deleted": {"movies": 1, "episodes": 0}})
    )

    report = run_flush(logged_in_everywhere)

    assert json.loads(remove.calls.last.request.content) == {"ids": [42]}
    assert report.services[0].removed == 1
    [job] = removal_jobs(logged_in_everywhere)
    assert (job["state"], job["outcome"]) == ("completed", "removed")


def test_trakt_removal_of_a_play_trakt_lacks_is_refused_with_the_reason(
    logged_in_everywhere: Runtime, api: respx.MockRouter
) -> None:
    unscrobble(
        logged_in_everywhere,
        [sent(logged_in_everywhere, "trakt", movie(AT, tmdb=603))],
        None,
        dry_run=False,
    )
    api.get(f"{TRAKT_API}/sync/history").mock(return_value=httpx.Response(200, json=[]))
    remove = api.post(f"{TRAKT_API}/sync/history/remove")

    run_flush(logged_in_everywhere)

    assert not remove.called
    [job] = removal_jobs(logged_in_everywhere)
    assert job["state"] == "rejected"
    assert "Trakt has no play of this at that time" in job["outcome"]


def test_trakt_removal_answer_without_deleted_counts_is_not_a_success(
    logged_in_everywhere: Runtime, api: respx.MockRouter
) -> None:
    unscrobble(
        logged_in_everywhere,
        [sent(logged_in_everywhere, "trakt", movie(AT, tmdb=603))],
        None,
        dry_run=False,
    )
    history = [trakt_entry(42, AT_ISO, 603)]
    api.get(f"{TRAKT_API}/sync/history").mock(return_value=httpx.Response(200, json=history))
    api.post(f"{TRAKT_API}/sync/history/remove").mock(return_value=httpx.Response(200, json={}))

    report = run_flush(logged_in_everywhere)

    assert report.services[0].removed == 0
    assert [j["state"] for j in removal_jobs(logged_in_everywhere)] == ["retryable"]


def test_simkl_removal_unmarks_the_movie_and_is_done_on_the_deleted_count(
    logged_in_everywhere: Runtime, api: respx.MockRouter
) -> None:
    unscrobble(
        logged_in_everywhere,
        [sent(logged_in_everywhere, "simkl", movie(AT, tmdb=603))],
        None,
        dry_run=False,
    )
    answer = {"deleted": {"movies": 1, "shows": 0, "episodes": 0}, "not_found": {"movies": []}}
    remove = api.post(f"{SIMKL_API}/sync/history/remove").mock(
        return_value=httpx.Response(201, json=answer)
    )

    run_flush(logged_in_everywhere)

    assert json.loads(remove.calls.last.request.content) == {"movies": [{"ids": {"tmdb": 603}}]}
    assert [j["state"] for j in removal_jobs(logged_in_everywhere)] == ["completed"]


@pytest.mark.parametrize("body", [b"", b"{}", b'{"deleted": {"movies": 0}}'])
def test_simkl_removal_without_a_deletion_on_record_is_never_done(
    logged_in_everywhere: Runtime, api: respx.MockRouter, body: bytes
) -> None:
    unscrobble(
        logged_in_everywhere,
        [sent(logged_in_everywhere, "simkl", movie(AT, tmdb=603))],
        None,
        dry_run=False,
    )
    api.post(f"{SIMKL_API}/sync/history/remove").mock(
        return_value=httpx.Response(200, content=body, headers={"Content-Type": "application/json"})
    )

    run_flush(logged_in_everywhere)

    [state] = [j["state"] for j in removal_jobs(logged_in_everywhere)]
    assert state in ("retryable", "discarded", "rejected")


def lb_listens(*listens: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, json={"payload": {"count": len(listens), "listens": list(listens)}})


def test_listenbrainz_removal_reads_the_msid_back_and_deletes_that_listen(
    logged_in_everywhere: Runtime, api: respx.MockRouter
) -> None:
    unscrobble(
        logged_in_everywhere,
        [sent(logged_in_everywhere, "listenbrainz", song())],
        None,
        dry_run=False,
    )
    other = {"listened_at": AT, "recording_msid": "00000000-0000-0000-0000-000000000001"}
    other["track_metadata"] = {"artist_name": "Nine Inch Nails", "track_name": "Hurt"}
    ours = {
        "listened_at": AT,
        "recording_msid": MSID,
        "track_metadata": {"artist_name": "Johnny Cash", "track_name": "Hurt"},
    }
    listens = api.get(f"{LB_API}/1/user/rob/listens").mock(return_value=lb_listens(other, ours))
    delete = api.post(f"{LB_API}/1/delete-listen").mock(
        return_value=httpx.Response(200, json={"status": "ok"})
    )

    run_flush(logged_in_everywhere)

    query = dict(listens.calls.last.request.url.params)
    window = 218_000 // 2000  # half the track: the same play (store/history.py)
    assert (query["min_ts"], query["max_ts"]) == (str(AT - window - 1), str(AT + window + 1))
    assert json.loads(delete.calls.last.request.content) == {
        "listened_at": AT,
        "recording_msid": MSID,
    }
    [job] = removal_jobs(logged_in_everywhere)
    assert (job["state"], job["outcome"]) == ("completed", "deletion scheduled")


def test_listenbrainz_removal_deletes_the_imported_listen_at_listenbrainzs_own_time(
    logged_in_everywhere: Runtime, api: respx.MockRouter
) -> None:
    store = logged_in_everywhere.store()
    ref = ItemRef("track", {}, title="Hurt", artist="Johnny Cash", duration_ms=218_000)
    with store.transaction():  # the archive has the play at AT (from Last.fm) ...
        ImportWriter(store, PROFILE, "lastfm").play(ImportedPlay(ref, AT))
    with store.transaction():  # ... and ListenBrainz has it 30 s later, with its msid
        ImportWriter(store, PROFILE, "listenbrainz").play(ImportedPlay(ref, AT + 30, MSID))
    [play] = [r[0] for r in store.conn.execute("SELECT id FROM plays")]
    unscrobble(logged_in_everywhere, [play], None, dry_run=False)
    theirs = {
        "listened_at": AT + 30,
        "recording_msid": MSID,
        "track_metadata": {"artist_name": "Johnny Cash", "track_name": "Hurt (Live)"},
    }
    api.get(f"{LB_API}/1/user/rob/listens").mock(return_value=lb_listens(theirs))
    delete = api.post(f"{LB_API}/1/delete-listen").mock(
        return_value=httpx.Response(200, json={"status": "ok"})
    )

    run_flush(logged_in_everywhere)

    assert json.loads(delete.calls.last.request.content) == {
        "listened_at": AT + 30,
        "recording_msid": MSID,
    }


def test_trakt_removal_finds_an_imported_play_at_trakts_own_time(
    logged_in_everywhere: Runtime, api: respx.MockRouter
) -> None:
    play = sent(logged_in_everywhere, "trakt", movie(AT, tmdb=603))  # Trakt has it 40 s later
    unscrobble(logged_in_everywhere, [play], None, dry_run=False)
    history = [trakt_entry(42, "2026-11-17T08:20:40.000Z", 603)]
    api.get(f"{TRAKT_API}/sync/history").mock(return_value=httpx.Response(200, json=history))
    remove = api.post(f"{TRAKT_API}/sync/history/remove").mock(
        return_value=httpx.Response(200, json={"deleted": {"movies": 1, "episodes": 0}})
    )

    run_flush(logged_in_everywhere)

    assert json.loads(remove.calls.last.request.content) == {"ids": [42]}


def test_listenbrainz_delete_answered_without_status_ok_is_not_a_success(
    logged_in_everywhere: Runtime, api: respx.MockRouter
) -> None:
    unscrobble(
        logged_in_everywhere,
        [sent(logged_in_everywhere, "listenbrainz", song())],
        None,
        dry_run=False,
    )
    ours = {
        "listened_at": AT,
        "recording_msid": MSID,
        "track_metadata": {"artist_name": "Johnny Cash", "track_name": "Hurt"},
    }
    api.get(f"{LB_API}/1/user/rob/listens").mock(return_value=lb_listens(ours))
    api.post(f"{LB_API}/1/delete-listen").mock(
        return_value=httpx.Response(200, json={"code": 200, "error": "Invalid Method"})
    )

    run_flush(logged_in_everywhere)

    assert [j["state"] for j in removal_jobs(logged_in_everywhere)] == ["retryable"]
