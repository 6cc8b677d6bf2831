"""Now-playing: a `"event": "start"` goes out at once to the services that show it, and is never
queued or retried (a late "now playing" is wrong, not useful)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from scrobctl import targets
from scrobctl.errors import InvalidToken, ScrobctlError
from scrobctl.http import ServiceLimiter
from scrobctl.runtime import Runtime
from scrobctl.scrobble.events import Event
from scrobctl.scrobble.rules import in_future
from scrobctl.scrobble.senders import Rejected, build_sender
from scrobctl.store import connections
from scrobctl.store.records import PlayRecord

STALE_AFTER = 600  # a start event without a known length is fresh for 10 minutes


@dataclass(frozen=True)
class NowPlayingResult:
    profile: str
    service: str
    error: str | None = None
    reconnect: bool = False


def is_fresh(event: Event, now: float) -> bool:
    """Still playing: started less than its length ago (or STALE_AFTER when unknown)."""
    if event.watched_at is None:
        return True
    length = (event.duration_ms or STALE_AFTER * 1000) / 1000
    return now - length <= event.watched_at and not in_future(event.watched_at, now)


def record_for(event: Event, now: float) -> PlayRecord:
    show_ids = event.show.ids.video() if event.show else {}
    return PlayRecord(
        job_id=0,
        play_id=0,
        kind=event.type,
        watched_at=int(now),
        title=event.title,
        artist=event.artist,
        album=event.album,
        duration_ms=event.duration_ms,
        mbid=event.ids.mbid,
        isrc=event.ids.isrc,
        ids=event.ids.video(),
        show_ids=show_ids,
        show_title=event.show.title if event.show else None,
        season=event.season,
        number=event.number,
    )


async def send_now_playing(
    runtime: Runtime, starts: dict[str, Event], routes: dict[str, dict[str, list[str]]]
) -> list[NowPlayingResult]:
    """Send the latest start event of each profile to each service routed for its type."""
    results: list[NowPlayingResult] = []
    now = runtime.clock.now()
    # A target whose server shows nothing playing (Maloja) is skipped without a word each time:
    # login said so once.
    usable = {
        (c.profile, c.service): targets.from_connection(c)
        for c in connections.list_connections(runtime.store())
        if c.usable
        and not (c.deferred_until and c.deferred_until > now)
        and targets.from_connection(c).has_now_playing
    }
    async with runtime.http_client() as http:
        for profile, event in starts.items():
            if not is_fresh(event, now):
                continue
            play = record_for(event, now)
            progress = event.played_percentage() or 0.0
            for service in routes.get(profile, {}).get(event.type, []):
                if (profile, service) not in usable:
                    continue  # waiting for a login or a pause: now-playing is not worth it
                limiter = usable[(profile, service)].limiter(runtime)
                try:
                    await _send(runtime, service, profile, play, progress, http, limiter)
                except InvalidToken as exc:
                    detail = f"{exc.reason}; {usable[(profile, service)].login_hint}"
                    connections.mark_reconnect_required(runtime.store(), profile, service, detail)
                    results.append(NowPlayingResult(profile, service, detail, reconnect=True))
                except ScrobctlError as exc:
                    reason = getattr(exc, "reason", str(exc))
                    results.append(NowPlayingResult(profile, service, reason))
                else:
                    results.append(NowPlayingResult(profile, service))
    return results


async def _send(
    runtime: Runtime,
    service: str,
    profile: str,
    play: PlayRecord,
    progress: float,
    http: httpx.AsyncClient,
    limiter: ServiceLimiter,
) -> None:
    sender = await build_sender(runtime, service, profile, http, limiter)
    try:
        payload = sender.prepare(play)
    except Rejected as exc:
        raise ScrobctlError(str(exc)) from None
    await sender.now_playing(play, payload, progress)
