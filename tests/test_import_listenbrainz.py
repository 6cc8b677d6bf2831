"""`scrobctl import listenbrainz` (sync/readers/listenbrainz.py) through the real use case:
`listen-count` for the total, `/1/user/{name}/listens` paged backwards with count=1000 and an
exclusive `max_ts` (api-notes B.6, traps 7-8), then recording feedback as ratings (B.7). respx
stands in for api.listenbrainz.org with a fake that answers the way the notes describe the server.

The fakes and the data they serve: tests/histories/listenbrainz.py.
"""

from __future__ import annotations

import asyncio
from itertools import pairwise
from typing import Any

import httpx
import pytest
import respx

from scrobctl.errors import ServiceUnavailable
from scrobctl.runtime import Runtime
from scrobctl.sync.importer import ImportResult
from scrobctl.sync.service import import_history
from tests.helpers import NOW, PROFILE, watched_times
from tests.histories.listenbrainz import (
    API,
    DAY,
    PAGE,
    SERVICE,
    TRACKS,
    USER,
    FakeListenBrainz,
    feedback,
    listen,
    listens,
    mbid,
)


def run(runtime: Runtime, **options: Any) -> ImportResult:
    return asyncio.run(import_history(runtime, SERVICE, PROFILE, **options))


def times_of(items: list[dict[str, Any]]) -> list[int]:
    return sorted((x["listened_at"] for x in items), reverse=True)


# -- paging ---------------------------------------------------------------------------------------


def test_listenbrainz_import_empty_history_imports_nothing_and_finishes(
    logged_in_listenbrainz: Runtime, api: respx.MockRouter
) -> None:
    FakeListenBrainz([]).install(api)

    result = run(logged_in_listenbrainz)

    assert watched_times(logged_in_listenbrainz) == []
    assert (result.progress.processed, result.report) == (0, None)
    assert (
        logged_in_listenbrainz.store().conn.execute("SELECT state FROM imports").fetchone()[0]
        == "done"
    )


def test_listenbrainz_import_exactly_one_full_page_is_one_listens_request(
    logged_in_listenbrainz: Runtime, api: respx.MockRouter
) -> None:
    items = listens(PAGE)
    fake = FakeListenBrainz(items).install(api)

    run(logged_in_listenbrainz)

    assert len(fake.requests) == 1
    assert watched_times(logged_in_listenbrainz) == times_of(items)


def test_listenbrainz_import_short_last_page_imports_every_listen(
    logged_in_listenbrainz: Runtime, api: respx.MockRouter
) -> None:
    items = listens(2 * PAGE + 300)
    fake = FakeListenBrainz(items).install(api)

    result = run(logged_in_listenbrainz)

    assert len(fake.requests) == 3
    assert watched_times(logged_in_listenbrainz) == times_of(items)
    assert result.progress.processed == len(items)


def test_listenbrainz_import_sends_count_1000_and_moves_max_ts_backwards(
    logged_in_listenbrainz: Runtime, api: respx.MockRouter
) -> None:
    fake = FakeListenBrainz(listens(3 * PAGE + 300)).install(api)

    run(logged_in_listenbrainz)

    assert {q.get("count") for q in fake.requests} == {"1000"}
    sent = [ts for ts in fake.max_ts_sent if ts is not None]
    assert len(sent) == len(fake.requests) and sent[0] == NOW + 1
    assert all(b < a for a, b in pairwise(sent))


def test_listenbrainz_import_reports_the_listen_count_from_the_first_page(
    logged_in_listenbrainz: Runtime, api: respx.MockRouter
) -> None:
    fake = FakeListenBrainz(listens(2 * PAGE + 300)).install(api)
    totals: list[int | None] = []

    run(logged_in_listenbrainz, on_page=lambda p: totals.append(p.total))

    assert fake.count_requests == 1
    assert totals[0] == 2 * PAGE + 300


def test_listenbrainz_import_listens_sharing_the_boundary_second_are_each_imported_once(
    logged_in_listenbrainz: Runtime, api: respx.MockRouter
) -> None:
    items = listens(PAGE - 3)
    boundary = items[-1]["listened_at"] - 300
    # Five recordings at one second: three end page 1, two start page 2.
    same_second = [listen(boundary, 900 + k, title=f"Same Second {k}") for k in range(5)]
    older = listens(200, newest=boundary - 300)
    fake = FakeListenBrainz([*items, *same_second, *older]).install(api)

    result = run(logged_in_listenbrainz)

    assert fake.max_ts_sent[1] == boundary + 1  # the cut fell inside that second

    at_boundary = (
        logged_in_listenbrainz.store()
        .conn.execute("SELECT count(*) FROM plays WHERE watched_at = ?", (boundary,))
        .fetchone()[0]
    )
    assert at_boundary == 5
    assert watched_times(logged_in_listenbrainz) == times_of([*items, *same_second, *older])
    assert result.progress.processed == len(items) + 5 + 200  # none read twice


def test_listenbrainz_import_empty_page_with_older_listens_retries_with_min_ts_and_goes_on(
    logged_in_listenbrainz: Runtime, api: respx.MockRouter
) -> None:
    # Nothing in the last 200 days, then 1500 listens: the window search finds nothing at first.
    items = listens(PAGE + 500, newest=NOW - 200 * DAY, step=600)
    oldest = items[-1]["listened_at"]
    fake = FakeListenBrainz(items, blind_beyond=30 * DAY).install(api)

    run(logged_in_listenbrainz)

    assert fake.requests[0].get("min_ts") is None
    assert fake.requests[1].get("min_ts") == str(oldest - 1)
    assert fake.requests[1].get("max_ts") == fake.requests[0].get("max_ts")
    assert watched_times(logged_in_listenbrainz) == times_of(items)


def test_listenbrainz_import_page_of_only_the_overlap_with_older_listens_goes_on(
    logged_in_listenbrainz: Runtime, api: respx.MockRouter
) -> None:
    recent = listens(PAGE, newest=NOW - 300)
    old = listens(500, newest=recent[-1]["listened_at"] - 200 * DAY)  # after a 200-day gap
    fake = FakeListenBrainz([*recent, *old], blind_beyond=30 * DAY).install(api)

    run(logged_in_listenbrainz)

    assert watched_times(logged_in_listenbrainz) == times_of([*recent, *old])
    assert len(fake.requests) >= 3


def test_listenbrainz_import_records_every_listen_as_on_listenbrainz(
    logged_in_listenbrainz: Runtime, api: respx.MockRouter
) -> None:
    items = listens(3)
    FakeListenBrainz(items).install(api)

    run(logged_in_listenbrainz)

    rows = logged_in_listenbrainz.store().conn.execute(
        "SELECT service, scrobbled_at, source FROM scrobbles ORDER BY scrobbled_at DESC"
    )
    assert [tuple(r) for r in rows] == [("listenbrainz", t, "imported") for t in times_of(items)]


def test_listenbrainz_import_listens_are_matched_by_recording_mbid(
    logged_in_listenbrainz: Runtime, api: respx.MockRouter
) -> None:
    items = listens(3 * TRACKS)  # every recording three times

    FakeListenBrainz(items).install(api)
    result = run(logged_in_listenbrainz)

    conn = logged_in_listenbrainz.store().conn
    assert conn.execute("SELECT count(DISTINCT mbid) FROM items").fetchone()[0] == TRACKS
    assert conn.execute("SELECT count(*) FROM items").fetchone()[0] == TRACKS
    assert result.progress.matched == len(items)


# -- feedback -------------------------------------------------------------------------------------


def test_listenbrainz_import_feedback_love_is_10_and_hate_is_1(
    logged_in_listenbrainz: Runtime, api: respx.MockRouter
) -> None:
    fake = FakeListenBrainz(
        [], loves=[feedback(1, 1, NOW - 7200), feedback(2, -1, NOW - 3600)]
    ).install(api)

    run(logged_in_listenbrainz)

    rows = logged_in_listenbrainz.store().conn.execute(
        "SELECT i.mbid, i.title, r.rating, r.rated_at, r.source FROM ratings r"
        " JOIN items i ON i.id = r.item_id ORDER BY r.rated_at"
    )
    assert [tuple(r) for r in rows] == [
        (mbid(1), "Track 001", 10.0, NOW - 7200, "listenbrainz"),
        (mbid(2), "Track 002", 1.0, NOW - 3600, "listenbrainz"),
    ]
    assert [q.get("metadata") for q in fake.feedback_requests] == ["true"]


def test_listenbrainz_import_feedback_on_a_listened_recording_rates_the_played_item(
    logged_in_listenbrainz: Runtime, api: respx.MockRouter
) -> None:
    FakeListenBrainz([listen(NOW - 600, 7)], loves=[feedback(7, 1, NOW - 60)]).install(api)

    run(logged_in_listenbrainz)

    conn = logged_in_listenbrainz.store().conn
    played = conn.execute("SELECT item_id FROM plays").fetchone()[0]
    rated = conn.execute("SELECT item_id FROM ratings").fetchone()[0]
    assert rated == played


# -- incremental and --since: min_ts picks the oldest (issue #15) ------------------------------


def test_listenbrainz_import_after_2500_new_listens_brings_all_of_them(
    logged_in_listenbrainz: Runtime, api: respx.MockRouter
) -> None:
    old = listens(PAGE + 200, newest=NOW - 10 * DAY)
    fake = FakeListenBrainz(old).install(api)
    run(logged_in_listenbrainz)
    new = listens(2500, newest=NOW - 300, step=60)
    fake.add(*new)

    result = run(logged_in_listenbrainz)

    assert watched_times(logged_in_listenbrainz) == times_of([*old, *new])
    assert result.progress.processed >= len(new)


def test_listenbrainz_import_since_walks_min_ts_forward_without_max_ts(
    logged_in_listenbrainz: Runtime, api: respx.MockRouter
) -> None:
    items = listens(3 * PAGE, step=60)
    since = items[2500]["listened_at"]
    fake = FakeListenBrainz(items).install(api)

    run(logged_in_listenbrainz, since=since)

    assert watched_times(logged_in_listenbrainz) == [x["listened_at"] for x in items[:2501]]
    assert all("max_ts" not in q for q in fake.requests)
    lows = [int(q["min_ts"]) for q in fake.requests]
    assert lows[0] == since - 1 and all(b > a for a, b in pairwise(lows))


def test_listenbrainz_import_listens_answer_without_payload_names_the_server(
    logged_in_listenbrainz: Runtime, api: respx.MockRouter
) -> None:
    # Maloja answers every endpoint it lacks with 200 (api-notes corrections item 6).
    api.get(f"{API}/1/user/{USER}/listen-count").respond(200, json={"payload": {"count": 3}})
    api.get(f"{API}/1/user/{USER}/listens").respond(
        200, json={"code": 200, "error": "Invalid Method"}
    )

    with pytest.raises(ServiceUnavailable) as caught:
        run(logged_in_listenbrainz)

    message = str(caught.value)
    assert API in message and "payload.listens" in message and "Invalid Method" in message
    assert (
        logged_in_listenbrainz.store().conn.execute("SELECT count(*) FROM plays").fetchone()[0] == 0
    )


def test_listenbrainz_import_feedback_answer_without_a_list_keeps_the_listens_done(
    logged_in_listenbrainz: Runtime, api: respx.MockRouter
) -> None:
    items = listens(30)
    FakeListenBrainz(items).install(api)
    api.get(f"{API}/1/feedback/user/{USER}/get-feedback").respond(
        200, json={"code": 200, "error": "Invalid Method"}
    )

    result = run(logged_in_listenbrainz)

    assert watched_times(logged_in_listenbrainz) == times_of(items)
    assert result.failed_step is not None and result.failed_step.step == "recording feedback"
    assert (
        logged_in_listenbrainz.store().conn.execute("SELECT state FROM imports").fetchone()[0]
        == "done"
    )


@pytest.mark.parametrize("since", [None, NOW - 400 * 300], ids=["full", "since"])
def test_listenbrainz_import_stops_when_the_server_ignores_max_ts_and_min_ts(
    logged_in_listenbrainz: Runtime, api: respx.MockRouter, since: int | None
) -> None:
    # Issue 16 item 3: a server that sends the same 1,000 listens whatever cursor it is given
    # would keep the import running for ever; it stops with an error naming the service.
    same = listens(PAGE)
    served: list[dict[str, str]] = []

    def same_page_for_ever(request: httpx.Request) -> httpx.Response:
        served.append(dict(request.url.params))
        if len(served) > 50:
            return httpx.Response(503, json={"code": 503, "error": "enough"})
        payload = {"count": PAGE, "user_id": USER, "listens": same}
        return httpx.Response(200, json={"payload": payload | {"oldest_listen_ts": 1}})

    api.get(f"{API}/1/user/{USER}/listen-count").respond(200, json={"payload": {"count": 10**6}})
    api.get(f"{API}/1/user/{USER}/listens").mock(side_effect=same_page_for_ever)

    with pytest.raises(ServiceUnavailable, match=r"ignores paging|the import was stopped"):
        run(logged_in_listenbrainz, since=since)

    assert len(served) <= 5
    plays = logged_in_listenbrainz.store().conn.execute("SELECT count(*) FROM plays").fetchone()[0]
    assert plays > 0, "what came before the stop is kept"
