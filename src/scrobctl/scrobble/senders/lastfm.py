"""Last.fm: signed `track.scrobble` batches of 50, per-play ignored codes, the 14-day rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from scrobctl.accounts.common import app_credentials
from scrobctl.accounts.lastfm import APP_HELP
from scrobctl.http import ServiceLimiter
from scrobctl.runtime import Runtime
from scrobctl.scrobble.rules import in_future
from scrobctl.scrobble.senders import Later, Outcome, Refused, Rejected
from scrobctl.services import lastfm
from scrobctl.store.records import PlayRecord


def next_utc_midnight(now: float) -> float:
    day = datetime.fromtimestamp(now, UTC).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


class LastfmSender:
    service = lastfm.SERVICE
    batch_size = lastfm.MAX_SCROBBLES_PER_REQUEST
    deduplicates = True  # the same artist, track and timestamp is one scrobble

    def __init__(self, client: lastfm.LastfmClient, now: float) -> None:
        self._client = client
        self._now = now

    def prepare(self, play: PlayRecord) -> lastfm.Scrobble:
        if not play.artist or not play.title:
            raise Rejected("needs both an artist and a track title")
        if play.watched_at < self._now - lastfm.MAX_AGE:
            raise Rejected("too old for Last.fm (it ignores plays more than 14 days old)")
        if in_future(play.watched_at, self._now):
            raise Rejected("played in the future; Last.fm ignores those")
        return lastfm.Scrobble(
            artist=play.artist,
            track=play.title,
            timestamp=play.watched_at,
            album=play.album,
            duration_s=play.duration_ms // 1000 if play.duration_ms else None,
            mbid=play.mbid,
        )

    async def already_there(self, plays: list[PlayRecord]) -> set[int]:
        return set()

    async def now_playing(self, play: PlayRecord, payload: Any, progress: float) -> None:
        await lastfm.update_now_playing(self._client, payload)

    async def send(self, batch: list[tuple[PlayRecord, Any]]) -> list[Outcome]:
        results = await lastfm.scrobble(self._client, [s for _, s in batch])
        outcomes: list[Outcome] = []
        for ignored in results:
            if ignored is None:
                outcomes.append(None)
            elif ignored.code == lastfm.IGNORED_DAILY_LIMIT:
                # The only ignore worth retrying, and only tomorrow (api-notes A.4).
                until = next_utc_midnight(self._now)
                outcomes.append(Later(until, "Last.fm's daily scrobble limit is reached"))
            else:
                text = f": {ignored.message}" if ignored.message else ""
                outcomes.append(Refused(f"ignored by Last.fm (code {ignored.code}{text})"))
        return outcomes


def build(
    runtime: Runtime, profile: str, http: httpx.AsyncClient, limiter: ServiceLimiter
) -> LastfmSender:
    secret = runtime.secret(profile, lastfm.SERVICE, "session_key")
    app = app_credentials(runtime, lastfm.SERVICE, APP_HELP, None)
    client = lastfm.LastfmClient(
        str(runtime.settings.lastfm.api_url),
        app["api_key"],
        app["api_secret"],
        http,
        limiter,
        secret["session_key"],
        profile,
    )
    return LastfmSender(client, runtime.clock.now())
