"""ListenBrainz API client (api-notes part B).

Submits with `listen_type: import` (up to 1000 listens), validates each listen locally by the
server's own rules so one bad listen never sinks a batch, and reads rate-limit headers.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import BaseModel, ValidationError

from scrobctl import __version__
from scrobctl.errors import InvalidToken, ServiceUnavailable
from scrobctl.http import ServiceLimiter, json_body, send
from scrobctl.store.records import PlayRecord

SERVICE = "listenbrainz"
LOGIN_HINT = "run `scrobctl login listenbrainz`"
MAX_LISTENS_PER_REQUEST = 1000  # api_tools.MAX_LISTENS_PER_REQUEST
MAX_LISTEN_SIZE = 10240  # bytes per listen, api_tools.MAX_LISTEN_SIZE
LISTEN_MINIMUM_TS = 1033430400  # 2002-10-01, api_tools.LISTEN_MINIMUM_TS
ALLOWED_FUTURE_SKEW = 3600  # API_LISTENED_AT_ALLOWED_SKEW
# The submission around the listens; a listen within MAX_LISTEN_SIZE less this keeps any batch of
# such listens within api.py l.116's `len(body) <= len(payload) * MAX_LISTEN_SIZE`.
ENVELOPE = len(b'{"listen_type":"import","payload":[]}')
# A page of listens is at most 1000 listens of at most MAX_LISTEN_SIZE bytes each, with room
# for the envelope; other reads are small.
LISTENS_MAX_BYTES = 2 * MAX_LISTENS_PER_REQUEST * MAX_LISTEN_SIZE


class InvalidListen(ValueError):
    """This play can never be accepted by ListenBrainz as it stands; the reason says why."""


class _ValidateTokenReply(BaseModel):
    valid: bool
    user_name: str | None = None


@dataclass(frozen=True)
class Account:
    user_name: str


def listen_for(play: PlayRecord, now: float) -> dict[str, Any]:
    """The `import` listen for a play, or InvalidListen with the rule it breaks.

    The metadata must be identical on every retry: ListenBrainz drops an identical re-submission
    (api-notes B.5), which is what makes a resend after a crash harmless.
    """
    artist = (play.artist or "").strip()
    track = (play.title or "").strip()
    if not artist or not track:
        raise InvalidListen("needs both an artist and a track title")
    if play.watched_at < LISTEN_MINIMUM_TS:
        raise InvalidListen("played before 2002-10-01, which ListenBrainz does not accept")
    if play.watched_at >= now + ALLOWED_FUTURE_SKEW:
        raise InvalidListen("played more than an hour in the future")
    info: dict[str, Any] = {
        "submission_client": "scrobctl",
        "submission_client_version": __version__,
    }
    if play.duration_ms and 0 < play.duration_ms <= 2_073_600_000:
        info["duration_ms"] = play.duration_ms
    if play.mbid and _is_uuid(play.mbid):
        info["recording_mbid"] = play.mbid
    if play.isrc:
        info["isrc"] = play.isrc
    metadata: dict[str, Any] = {"artist_name": artist, "track_name": track}
    if play.album and play.album.strip():
        metadata["release_name"] = play.album.strip()
    metadata["additional_info"] = info
    listen = {"listened_at": play.watched_at, "track_metadata": metadata}
    if _has_nul(listen):
        # check_for_unicode_null_recursively refuses the real U+0000 (api_tools.py l.144-159);
        # a backslash followed by "u0000" is ordinary text.
        raise InvalidListen("contains a NUL character")
    size = len(encode(listen)) + ENVELOPE
    if size > MAX_LISTEN_SIZE:
        raise InvalidListen(
            f"is {size} bytes as sent, more than ListenBrainz's {MAX_LISTEN_SIZE} bytes a listen"
        )
    return listen


def encode(value: Any) -> bytes:
    """JSON exactly as posted: compact UTF-8, not ASCII-escaped. The server measures these bytes
    (api.py l.116: body <= listens x MAX_LISTEN_SIZE); a CJK character is 3 of them, not 6."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(v) for v in value.values())
    return False


def is_mbid(value: str) -> bool:
    """A MusicBrainz id as the server checks it: api_tools.py `is_valid_uuid` (l.258-265)."""
    return _is_uuid(value)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


class ListenBrainzClient:
    def __init__(
        self,
        base_url: str,
        token: str,
        client: httpx.AsyncClient,
        limiter: ServiceLimiter,
        name: str = SERVICE,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._token = token
        self._client = client
        self._limiter = limiter
        self._name = name  # the target's, for the reads' messages

    @property
    def base_url(self) -> str:
        """The server, to name it in errors (a compatible server is not ListenBrainz)."""
        return self._base

    def _request(
        self, method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Request:
        headers = {**(headers or {}), "Authorization": f"Token {self._token}"}
        return self._client.build_request(method, self._base + path, headers=headers, **kwargs)

    async def get(self, path: str, params: dict[str, Any]) -> httpx.Response:
        """A read (listens, counts, feedback); the token is sent but not needed."""
        request = self._request("GET", path, params=params)
        return await send(
            self._client, self._limiter, request, login_hint=LOGIN_HINT, max_bytes=LISTENS_MAX_BYTES
        )

    async def _read(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        body = json_body(await self.get(path, params))
        if not isinstance(body, dict):
            raise ServiceUnavailable(self._name, f"{path} gave an unexpected answer")
        return body

    async def listens_page(self, user: str, params: dict[str, Any]) -> dict[str, Any]:
        """The payload of one `/1/user/{user}/listens` page (`count`, `min_ts`, `max_ts`). A
        compatible server that lacks the endpoint answers 200 with an error text (Maloja:
        `{"code": 200, "error": "Invalid Method"}`, api-notes corrections item 6): without
        `payload.listens` it is an error, never an empty history."""
        path = f"/1/user/{user}/listens"
        body = await self._read(path, params)
        payload = body.get("payload")
        if not isinstance(payload, dict) or not isinstance(payload.get("listens"), list):
            raise ServiceUnavailable(
                self._name,
                f"{self._base} answered {path} without payload.listens"
                f"{_said(body)}: it does not serve listen history",
                "check SCROBCTL_LISTENBRAINZ__API_URL; a compatible server may lack this endpoint",
            )
        return payload

    async def listen_count(self, user: str) -> Any:
        """`payload.count` of `/1/user/{user}/listen-count` (None when it is not there)."""
        body = await self._read(f"/1/user/{user}/listen-count", {})
        return (body.get("payload") or {}).get("count")

    async def feedback_page(self, user: str, offset: int, count: int) -> list[Any]:
        """One offset page of the user's recording feedback, with metadata."""
        path = f"/1/feedback/user/{user}/get-feedback"
        params = {"count": count, "offset": offset, "metadata": "true"}
        body = await self._read(path, params)
        entries = body.get("feedback")
        if not isinstance(entries, list):
            raise ServiceUnavailable(
                self._name,
                f"{self._base} answered {path} without a feedback list{_said(body)}",
                "a compatible server may lack recording feedback",
            )
        return entries

    async def validate_token(self) -> Account:
        """The account behind the token. The server answers 200 even for a bad token."""
        response = await send(
            self._client, self._limiter, self._request("GET", "/1/validate-token")
        )
        try:
            reply = _ValidateTokenReply.model_validate(json_body(response))
        except ValidationError:
            raise ServiceUnavailable(SERVICE, "validate-token gave an unexpected answer") from None
        if not reply.valid or not reply.user_name:
            raise InvalidToken(SERVICE, "ListenBrainz says this token is not valid", LOGIN_HINT)
        return Account(reply.user_name)

    async def playing_now(self, listen: dict[str, Any]) -> None:
        """Tell ListenBrainz what is playing; not stored, so never retried."""
        metadata = listen["track_metadata"]
        body = {"listen_type": "playing_now", "payload": [{"track_metadata": metadata}]}
        request = self._request("POST", "/1/submit-listens", json=body)
        await send(self._client, self._limiter, request, login_hint=LOGIN_HINT)

    async def recording_feedback(self, recording_mbid: str, score: int) -> None:
        """+1 love, -1 hate, 0 remove; only these keys are allowed (api-notes B.7).

        Sent only on the server's word: feedback_api.py `recording_feedback` answers
        `{"status": "ok"}`; a compatible server without the endpoint answers 200 with an error
        text (api-notes corrections items 5-6), which is not a success.
        """
        if not is_mbid(recording_mbid):
            raise ValueError("recording_mbid must be a UUID")
        path = "/1/feedback/recording-feedback"
        body = {"recording_mbid": recording_mbid, "score": score}
        request = self._request("POST", path, json=body)
        response = await send(self._client, self._limiter, request, login_hint=LOGIN_HINT)
        reply = json_body(response)
        if not isinstance(reply, dict) or reply.get("status") != "ok":
            said = reply.get("error") if isinstance(reply, dict) else None
            detail = f" (it said {str(said)[:80]!r})" if said else ""
            raise ServiceUnavailable(
                SERVICE,
                f"{self._base} answered {path} without status ok{detail}",
                "check SCROBCTL_LISTENBRAINZ__API_URL; a compatible server may lack feedback",
            )

    async def submit_listens(self, listens: list[dict[str, Any]]) -> None:
        """One `import` submission. 200 means accepted (stored asynchronously)."""
        if not 1 <= len(listens) <= MAX_LISTENS_PER_REQUEST:
            raise ValueError(f"a submission holds 1..{MAX_LISTENS_PER_REQUEST} listens")
        body = encode({"listen_type": "import", "payload": listens})
        headers = {"Content-Type": "application/json"}
        request = self._request("POST", "/1/submit-listens", content=body, headers=headers)
        response = await send(self._client, self._limiter, request, login_hint=LOGIN_HINT)
        reply = json_body(response)
        if not isinstance(reply, dict) or reply.get("status") != "ok":
            raise ServiceUnavailable(SERVICE, "submit-listens answered without status ok")

    async def listens_between(self, user: str, start: int, end: int) -> list[dict[str, Any]]:
        """The user's listens from `start` to `end` (inclusive), with their `recording_msid`.

        submit-listens answers only `{"status": "ok"}` (listenbrainz-server 0a119846d,
        webserver/views/api.py l.157-160) and the msid is made later, when the listen store
        writes the listen; so the msid of a sent listen is read back from /listens. Both bounds
        are exclusive and may be sent together when max_ts > min_ts (api.py `get_listens`
        l.170-200, api_tools.py `_validate_get_listens_endpoint_params` l.502-518).
        """
        params = {"min_ts": start - 1, "max_ts": end + 1, "count": 100}
        response = await self.get(f"/1/user/{user}/listens", params)
        body = json_body(response)
        payload = body.get("payload") if isinstance(body, dict) else None
        listens = payload.get("listens") if isinstance(payload, dict) else None
        if not isinstance(listens, list):
            raise ServiceUnavailable(SERVICE, "/listens answered without payload.listens")
        return [
            x
            for x in listens
            if isinstance(x, dict)
            and isinstance(x.get("listened_at"), int)
            and start <= x["listened_at"] <= end
        ]

    async def delete_listen(self, listened_at: int, recording_msid: str) -> None:
        """Schedule one listen for deletion; the server deletes it within the hour
        (api.py `delete_listen`, l.537-598: `listened_at` and `recording_msid`, `status: ok`)."""
        body = {"listened_at": listened_at, "recording_msid": recording_msid}
        request = self._request("POST", "/1/delete-listen", json=body)
        response = await send(self._client, self._limiter, request, login_hint=LOGIN_HINT)
        reply = json_body(response)
        if not isinstance(reply, dict) or reply.get("status") != "ok":
            raise ServiceUnavailable(SERVICE, "delete-listen answered without status ok")


def _said(body: dict[str, Any]) -> str:
    """What the server said instead, in a few words, when it said something."""
    said = body.get("error") or body.get("message")
    return f" (it said {str(said)[:80]!r})" if said else ""


def listen_msid(listen: dict[str, Any]) -> str | None:
    """A listen's recording_msid: at the top of a /listens entry, or in additional_info."""
    msid = listen.get("recording_msid")
    if not isinstance(msid, str):
        info = (listen.get("track_metadata") or {}).get("additional_info") or {}
        msid = info.get("recording_msid") if isinstance(info, dict) else None
    return msid if isinstance(msid, str) and _is_uuid(msid) else None
