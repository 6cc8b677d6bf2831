"""ListenBrainz client (api-notes part B) against respx: auth header, validate-token, the import
submission, error mapping, and the local listen rules that keep one bad listen out of a batch."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from scrobctl import __version__
from scrobctl.errors import BadRequest, InvalidToken, RateLimited, ServiceUnavailable
from scrobctl.http import ServiceLimiter
from scrobctl.services.listenbrainz import (
    ALLOWED_FUTURE_SKEW,
    LISTEN_MINIMUM_TS,
    MAX_LISTEN_SIZE,
    Account,
    InvalidListen,
    ListenBrainzClient,
    listen_for,
)
from scrobctl.store.records import PlayRecord
from tests.conftest import FakeClock

BASE = "https://api.listenbrainz.org"
TOKEN = "0f1e2d3c-test-token"
NOW = 1_795_000_000
MBID = "d6a3c0a4-3b0a-4f7b-9a57-0c2f6a8e1b2c"


def play(**changes: Any) -> PlayRecord:
    fields: dict[str, Any] = {
        "job_id": 1,
        "play_id": 1,
        "kind": "track",
        "watched_at": NOW - 600,
        "title": "Windowlicker",
        "artist": "Aphex Twin",
        "album": "Windowlicker EP",
        "duration_ms": 367_000,
        "mbid": MBID,
        "isrc": None,
    }
    fields.update(changes)
    return PlayRecord(**fields)


@pytest.fixture
def lb() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE) as router:
        yield router


def call(clock: FakeClock, method: str, *args: Any) -> Any:
    """Run one client method in a fresh event loop, with a fresh httpx client."""

    async def go() -> Any:
        async with httpx.AsyncClient() as http:
            client = ListenBrainzClient(BASE, TOKEN, http, ServiceLimiter("listenbrainz", clock))
            return await getattr(client, method)(*args)

    return asyncio.run(go())


def one_listen() -> list[dict[str, Any]]:
    return [listen_for(play(), NOW)]


# -- validate_token ---------------------------------------------------------------------------


def test_validate_token_sends_the_token_header(lb: respx.MockRouter, clock: FakeClock) -> None:
    route = lb.get("/1/validate-token").respond(
        200, json={"code": 200, "message": "Token valid.", "valid": True, "user_name": "rob"}
    )
    call(clock, "validate_token")
    assert route.calls.last.request.headers["Authorization"] == f"Token {TOKEN}"


def test_validate_token_returns_the_user_name(lb: respx.MockRouter, clock: FakeClock) -> None:
    lb.get("/1/validate-token").respond(
        200, json={"code": 200, "message": "Token valid.", "valid": True, "user_name": "rob"}
    )
    assert call(clock, "validate_token") == Account("rob")


def test_validate_token_raises_invalid_token_on_valid_false(
    lb: respx.MockRouter, clock: FakeClock
) -> None:
    # api-notes B.1: a bad token still gets HTTP 200, with valid: false and no user_name.
    lb.get("/1/validate-token").respond(
        200, json={"code": 200, "message": "Token invalid.", "valid": False}
    )
    with pytest.raises(InvalidToken) as caught:
        call(clock, "validate_token")
    assert "scrobctl login listenbrainz" in str(caught.value)


def test_validate_token_unexpected_body_is_service_unavailable(
    lb: respx.MockRouter, clock: FakeClock
) -> None:
    lb.get("/1/validate-token").respond(200, text="<html>maintenance</html>")
    with pytest.raises(ServiceUnavailable):
        call(clock, "validate_token")


# -- submit_listens ---------------------------------------------------------------------------


def test_submit_listens_posts_an_import_payload(lb: respx.MockRouter, clock: FakeClock) -> None:
    route = lb.post("/1/submit-listens").respond(200, json={"status": "ok"})
    listens = one_listen()
    call(clock, "submit_listens", listens)
    request = route.calls.last.request
    assert json.loads(request.content) == {"listen_type": "import", "payload": listens}


def test_submit_listens_sends_json_content_type(lb: respx.MockRouter, clock: FakeClock) -> None:
    route = lb.post("/1/submit-listens").respond(200, json={"status": "ok"})
    call(clock, "submit_listens", one_listen())
    request = route.calls.last.request
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Authorization"] == f"Token {TOKEN}"


def test_submit_listens_raises_invalid_token_on_401(lb: respx.MockRouter, clock: FakeClock) -> None:
    lb.post("/1/submit-listens").respond(
        401, json={"code": 401, "error": "Invalid authorization token."}
    )
    with pytest.raises(InvalidToken):
        call(clock, "submit_listens", one_listen())


def test_submit_listens_raises_rate_limited_with_the_header_value(
    lb: respx.MockRouter, clock: FakeClock
) -> None:
    lb.post("/1/submit-listens").respond(
        429,
        json={"code": 429, "error": "You have exceeded your rate limit."},
        headers={"Retry-After": "37"},
    )
    with pytest.raises(RateLimited) as caught:
        call(clock, "submit_listens", one_listen())
    assert caught.value.retry_after == 37.0


def test_submit_listens_rate_limited_by_reset_in_waits_one_more_second(
    lb: respx.MockRouter, clock: FakeClock
) -> None:
    # ListenBrainz itself sends X-RateLimit-* rather than Retry-After (api-notes B.3).
    lb.post("/1/submit-listens").respond(
        429,
        json={"code": 429, "error": "You have exceeded your rate limit."},
        headers={
            "X-RateLimit-Limit": "30",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset-In": "6",
        },
    )
    with pytest.raises(RateLimited) as caught:
        call(clock, "submit_listens", one_listen())
    assert caught.value.retry_after == 7.0


def test_submit_listens_raises_bad_request_on_400(lb: respx.MockRouter, clock: FakeClock) -> None:
    lb.post("/1/submit-listens").respond(
        400, json={"code": 400, "error": "Value for key listened_at is too high."}
    )
    with pytest.raises(BadRequest, match="listened_at is too high"):
        call(clock, "submit_listens", one_listen())


def test_submit_listens_without_status_ok_is_service_unavailable(
    lb: respx.MockRouter, clock: FakeClock
) -> None:
    lb.post("/1/submit-listens").respond(200, json={"status": "maybe"})
    with pytest.raises(ServiceUnavailable):
        call(clock, "submit_listens", one_listen())


@pytest.mark.parametrize("count", [0, 1001])
def test_submit_listens_refuses_empty_or_oversized_batches(
    lb: respx.MockRouter, clock: FakeClock, count: int
) -> None:
    # No route: had a request gone out, respx would have refused it as unmocked.
    with pytest.raises(ValueError, match=r"1\.\.1000"):
        call(clock, "submit_listens", one_listen() * count)
    assert not lb.calls


# -- listen_for -------------------------------------------------------------------------------


def test_listen_for_builds_the_documented_listen() -> None:
    assert listen_for(play(), NOW) == {
        "listened_at": NOW - 600,
        "track_metadata": {
            "artist_name": "Aphex Twin",
            "track_name": "Windowlicker",
            "release_name": "Windowlicker EP",
            "additional_info": {
                "submission_client": "scrobctl",
                "submission_client_version": __version__,
                "duration_ms": 367_000,
                "recording_mbid": MBID,
            },
        },
    }


def test_listen_for_listened_at_is_int_seconds() -> None:
    listened_at = listen_for(play(), NOW)["listened_at"]
    assert type(listened_at) is int
    assert listened_at == NOW - 600


def test_listen_for_strips_artist_and_title() -> None:
    meta = listen_for(play(artist="  Aphex Twin ", title=" Xtal  "), NOW)["track_metadata"]
    assert (meta["artist_name"], meta["track_name"]) == ("Aphex Twin", "Xtal")


@pytest.mark.parametrize("album", [None, "", "   "])
def test_listen_for_omits_release_name_without_album(album: str | None) -> None:
    assert "release_name" not in listen_for(play(album=album), NOW)["track_metadata"]


def test_listen_for_omits_duration_when_unknown() -> None:
    info = listen_for(play(duration_ms=None), NOW)["track_metadata"]["additional_info"]
    assert "duration_ms" not in info
    assert "duration" not in info


@pytest.mark.parametrize("mbid", [None, "", "not-a-uuid", "d6a3c0a4-3b0a-4f7b-9a57"])
def test_listen_for_sends_recording_mbid_only_when_a_valid_uuid(mbid: str | None) -> None:
    info = listen_for(play(mbid=mbid), NOW)["track_metadata"]["additional_info"]
    assert "recording_mbid" not in info
    assert info["submission_client"] == "scrobctl"


def test_listen_for_keeps_the_listen_to_the_documented_top_level_keys() -> None:
    # api-notes B.4: any extra top-level key is a 400 for import.
    assert set(listen_for(play(), NOW)) == {"listened_at", "track_metadata"}


@pytest.mark.parametrize(
    "changes",
    [
        {"artist": None},
        {"artist": ""},
        {"artist": "   "},
        {"title": None},
        {"title": ""},
        {"title": "\t"},
    ],
)
def test_listen_for_rejects_missing_artist_or_title(changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidListen, match="artist and a track title"):
        listen_for(play(**changes), NOW)


def test_listen_for_rejects_plays_before_2002_10_01() -> None:
    with pytest.raises(InvalidListen, match="2002-10-01"):
        listen_for(play(watched_at=LISTEN_MINIMUM_TS - 1), NOW)


def test_listen_for_accepts_the_first_second_of_2002_10_01() -> None:
    assert listen_for(play(watched_at=LISTEN_MINIMUM_TS), NOW)["listened_at"] == 1033430400


def test_listen_for_rejects_plays_more_than_an_hour_in_the_future() -> None:
    with pytest.raises(InvalidListen, match="future"):
        listen_for(play(watched_at=NOW + ALLOWED_FUTURE_SKEW), NOW)


def test_listen_for_accepts_plays_just_under_an_hour_ahead() -> None:
    ahead = NOW + ALLOWED_FUTURE_SKEW - 1
    assert listen_for(play(watched_at=ahead), NOW)["listened_at"] == ahead


def test_listen_for_rejects_listens_over_10240_bytes() -> None:
    with pytest.raises(InvalidListen, match=str(MAX_LISTEN_SIZE)):
        listen_for(play(title="x" * MAX_LISTEN_SIZE), NOW)


def test_listen_for_accepts_a_large_listen_under_the_limit() -> None:
    listen = listen_for(play(title="x" * 9000), NOW)
    assert len(json.dumps(listen).encode()) <= MAX_LISTEN_SIZE


def test_listen_for_rejects_nul_characters() -> None:
    with pytest.raises(InvalidListen, match="NUL"):
        listen_for(play(title="a\x00b"), NOW)


# -- the server's own rules (issue #15; listenbrainz-server api.py l.116, api_tools.py) ---------


def test_listen_for_accepts_1024_character_cjk_title_and_artist() -> None:
    # 3 bytes a character as posted (about 6 KB), 6 as an ASCII escape (12 KB, over the limit).
    listen = listen_for(play(title="音" * 1024, artist="楽" * 1024), NOW)
    assert listen["track_metadata"]["track_name"] == "音" * 1024


def test_listen_for_accepts_a_literal_backslash_u0000_in_a_title() -> None:
    listen = listen_for(play(title="C:\\u0000 dir"), NOW)
    assert listen["track_metadata"]["track_name"] == "C:\\u0000 dir"


def test_listen_for_measures_the_listen_with_its_share_of_the_submission() -> None:
    # A listen of exactly MAX_LISTEN_SIZE bytes alone makes a body over len(payload) x 10240.
    base = len(json.dumps(listen_for(play(title="x"), NOW), separators=(",", ":")).encode())
    with pytest.raises(InvalidListen, match="bytes as sent"):
        listen_for(play(title="x" * (MAX_LISTEN_SIZE - base + 1)), NOW)


def test_submit_listens_posts_compact_utf8_within_listens_times_10240_bytes(
    lb: respx.MockRouter, clock: FakeClock
) -> None:
    route = lb.post("/1/submit-listens").respond(200, json={"status": "ok"})
    listens = [listen_for(play(title="音" * 3000, watched_at=NOW - i), NOW) for i in range(3)]

    call(clock, "submit_listens", listens)

    body = route.calls.last.request.content
    assert "音".encode() in body and b"\\u" not in body
    assert len(body) <= len(listens) * MAX_LISTEN_SIZE


def test_recording_feedback_without_status_ok_names_the_server(
    lb: respx.MockRouter, clock: FakeClock
) -> None:
    # Maloja answers the endpoints it lacks with 200 (api-notes corrections items 5-6).
    lb.post("/1/feedback/recording-feedback").respond(
        200, json={"code": 200, "error": "Invalid Method"}
    )
    with pytest.raises(ServiceUnavailable, match="Invalid Method") as caught:
        call(clock, "recording_feedback", MBID, 1)
    assert BASE in str(caught.value)
