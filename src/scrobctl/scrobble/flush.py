"""`scrobctl flush`: send the queue, batch by batch, under the flush lock.

Order of commits, for crash safety: a batch is claimed (`running`, attempt + 1) before it is
sent and marked `completed` right after the service answers. A kill between those two leaves it
`running`; the next flush takes it back. ListenBrainz and Last.fm drop an identical resend; for
Trakt and Simkl, which do not, a play claimed before (attempt > 1) is first looked up on the
service and only sent if it is not there. The window that remains: a service that accepted a
play but does not show it yet when it is looked up.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from scrobctl import targets
from scrobctl.errors import (
    AccountProblem,
    BadRequest,
    ExitCode,
    InvalidToken,
    RateLimited,
    ScrobctlError,
    ServiceError,
    login_hint,
)
from scrobctl.http import ServiceLimiter, backoff_delay
from scrobctl.lock import exclusive
from scrobctl.runtime import Runtime
from scrobctl.scrobble.senders import (
    SENDER_SERVICES,
    Later,
    Refused,
    Rejected,
    Sender,
    build_sender,
)
from scrobctl.scrobble.senders.ratings import RatingSender, build_rating_sender
from scrobctl.scrobble.senders.removals import RemovalSender, build_removal_sender
from scrobctl.store import connections, queue
from scrobctl.store.history import half_length_window, service_has_play
from scrobctl.store.ratings import RATING, rating_records
from scrobctl.store.records import PlayRecord
from scrobctl.store.removals import UNSCROBBLE, removal_records


@dataclass
class ServiceReport:
    service: str
    profile: str
    sent: int = 0
    removed: int = 0  # unscrobble jobs done
    already_there: int = 0
    requests: int = 0
    rejected: list[str] = field(default_factory=list)
    retry_scheduled: int = 0
    retry_at: float | None = None
    discarded: int = 0
    deferred: int = 0
    deferred_until: float | None = None
    reconnect: str | None = None
    attention: str | None = None
    error: str | None = None
    # This run could not use the connection (its token is not in the store in use, its API app
    # is not set up here): the connection is not marked, its jobs wait untouched.
    problem: str | None = None
    problem_code: ExitCode = ExitCode.OK
    total: int = 0  # jobs due for this target when the run began, for progress


OnBatch = Callable[["ServiceReport"], None]


@dataclass
class FlushReport:
    services: list[ServiceReport] = field(default_factory=list)

    @property
    def exit_code(self) -> ExitCode:
        if any(r.reconnect for r in self.services):
            return ExitCode.RECONNECT
        if any(r.problem for r in self.services):
            return max(r.problem_code for r in self.services if r.problem)
        if any(r.rejected or r.discarded or r.attention for r in self.services):
            return ExitCode.FAILED
        return ExitCode.OK


def all_targets(store: Any) -> tuple[str, ...]:
    """Every target name with a connection or queued jobs, the four kinds' defaults first."""
    names = list(SENDER_SERVICES)
    for connection in connections.list_connections(store):
        if connection.name not in names:
            names.append(connection.name)
    for _, name, _ in queue.services_with_pending(store):
        if name not in names:
            names.append(name)
    return tuple(names)


async def flush(
    runtime: Runtime,
    services: tuple[str, ...] | None = None,
    on_batch: OnBatch | None = None,
) -> FlushReport:
    """Send the due jobs of the named targets (`services`; default: all of them). `on_batch`
    sees a target's report after each batch it sends (and once when the target starts), for
    progress."""
    with exclusive(runtime.lock_path):
        store = runtime.store()
        if services is None:
            services = all_targets(store)
        run_id = uuid.uuid4().hex
        report = FlushReport()
        async with runtime.http_client() as http:
            tasks = [
                _flush_service(runtime, service, http, run_id, report, on_batch)
                for service in services
            ]
            await asyncio.gather(*tasks)
        _report_waiting(store, report, services)
        if runtime.settings.notify.url:
            from scrobctl.notify import after_flush

            after_flush(runtime, report, runtime.warn)
        return report


@dataclass
class Planned:
    """What a flush starting now would send to one target (`flush --dry-run`)."""

    service: str
    profile: str
    due: int
    state: str  # ok, or why nothing would be sent: not logged in, reconnect_required, paused
    items: list[str] = field(default_factory=list)


def plan(runtime: Runtime, services: tuple[str, ...] | None = None) -> list[Planned]:
    """The due jobs per target (of the named targets, `services`; default: all of them), as
    the next flush would take them; nothing is sent or changed."""
    store = runtime.store()
    now = runtime.clock.now()
    planned: dict[tuple[str, str], Planned] = {}
    for job in queue.list_jobs(store, states=queue.PENDING):
        if job.state != queue.RUNNING and (job.scheduled_at or 0) > now:
            continue
        if services is not None and job.service not in services:
            continue
        key = (job.profile, job.service)
        if key not in planned:
            c = connections.get_connection(store, job.profile, job.service)
            if c is None:
                state = "not logged in"
            elif c.deferred_until and c.deferred_until > now:
                state = "paused"
            else:
                state = c.status if c.enabled else "disabled"
            planned[key] = Planned(job.service, job.profile, 0, state)
        planned[key].due += 1
        planned[key].items.append(job.item)
    return sorted(planned.values(), key=lambda p: (p.profile, p.service))


def _report_waiting(store: Any, report: FlushReport, services: tuple[str, ...]) -> None:
    """Pending jobs for targets nobody is logged in to: say so, they are kept."""
    seen = {(r.profile, r.service) for r in report.services}
    for profile, service, count in queue.services_with_pending(store):
        if (profile, service) in seen or service not in services:
            continue
        if connections.get_connection(store, profile, service) is None:
            if service in SENDER_SERVICES:
                hint = login_hint(service, profile)
            else:  # a named target that was logged out: its kind and URL went with it
                hint = f"log in to it again with `scrobctl login KIND --name {service} --url URL`"
            report.services.append(
                ServiceReport(service, profile, deferred=count, reconnect=f"not logged in; {hint}")
            )


async def _flush_service(
    runtime: Runtime,
    service: str,
    http: httpx.AsyncClient,
    run_id: str,
    report: FlushReport,
    on_batch: OnBatch | None = None,
) -> None:
    store = runtime.store()
    limiters: dict[tuple[str, str | None], ServiceLimiter] = {}
    for profile in queue.due_profiles(store, service, runtime.clock.now()):
        connection = connections.get_connection(store, profile, service)
        if connection is None:
            continue  # reported by _report_waiting
        # One limiter per server the target's name leads to, shared by the profiles using it.
        target = targets.from_connection(connection)
        key = (target.kind, target.url)
        if key not in limiters:
            limiters[key] = target.limiter(runtime)
        limiter = limiters[key]
        result = ServiceReport(service, profile)
        result.total = queue.count_due(store, service, profile, runtime.clock.now())
        report.services.append(result)
        if connection.status == connections.ATTENTION_REQUIRED:
            result.attention = connection.status_detail or "the account needs your attention"
            continue
        if not connection.usable:
            result.reconnect = f"needs a new login; {target.login_hint}"
            continue
        now = runtime.clock.now()
        if connection.deferred_until and connection.deferred_until > now:
            result.deferred_until = connection.deferred_until
            continue
        for kind, build in (
            (queue.SCROBBLE, build_sender),
            (RATING, build_rating_sender),
            (UNSCROBBLE, build_removal_sender),
        ):
            if not queue.has_due(store, kind, service, profile, runtime.clock.now()):
                continue
            try:
                sender = await build(runtime, service, profile, http, limiter)
            except InvalidToken as exc:
                detail = f"{exc.reason}; {target.login_hint}"
                connections.mark_reconnect_required(store, profile, service, detail)
                result.reconnect = detail
                break
            except ScrobctlError as exc:
                # TokenMissing, a missing API app: a fact about this run, not the account.
                reason = getattr(exc, "reason", exc.message)
                result.problem = f"{reason}; {exc.hint}" if exc.hint else reason
                result.problem_code = exc.exit_code
                break
            if on_batch is not None:
                on_batch(result)
            if await _drain(runtime, sender, limiter, kind, profile, run_id, result, on_batch):
                break  # the service said stop: no more of its jobs this run


def _claim(
    runtime: Runtime, kind: str, service: str, profile: str, limit: int, run_id: str
) -> list[Any]:
    store = runtime.store()
    ids = queue.claim_ids(
        store,
        kind=kind,
        service=service,
        profile=profile,
        limit=limit,
        run_id=run_id,
        now=runtime.clock.now(),
    )
    if kind == RATING:
        return rating_records(store.conn, ids)
    if kind == UNSCROBBLE:
        return removal_records(store.conn, ids)
    return queue.play_records(store.conn, ids)


async def _drain(
    runtime: Runtime,
    sender: Sender | RatingSender | RemovalSender,
    limiter: ServiceLimiter,
    kind: str,
    profile: str,
    run_id: str,
    result: ServiceReport,
    on_batch: OnBatch | None = None,
) -> bool:
    """Claim and send batches until none is due (False) or the service says stop (True)."""
    store = runtime.store()
    service = sender.service
    first = True
    pauses = 0
    while True:
        if on_batch is not None and not first:
            on_batch(result)
        first = False
        records = _claim(runtime, kind, service, profile, sender.batch_size, run_id)
        if not records:
            return False
        batch = _Batch(runtime, sender, result, profile)
        if kind == queue.SCROBBLE:
            try:
                records = await batch.skip_known(records)
            except ServiceError as exc:
                unsent = [p.job_id for p in records]
                if _short_pause(runtime, limiter, unsent, exc, pauses):
                    pauses += 1
                    continue
                _stopped(runtime, profile, service, unsent, exc, result)
                return True
        ready: list[tuple[Any, Any]] = []
        rejections: list[tuple[int, str]] = []
        for record in records:
            try:
                ready.append((record, sender.prepare(record)))
            except Rejected as exc:
                rejections.append((record.job_id, str(exc)))
        queue.reject(store, rejections, runtime.clock.now())
        result.rejected.extend(reason for _, reason in rejections)
        try:
            await batch.send(ready)
        except ServiceError as exc:
            if _short_pause(runtime, limiter, batch.unsent, exc, pauses):
                pauses += 1
                continue
            _stopped(runtime, profile, service, batch.unsent, exc, result)
            return True
        except _Paused:
            queue.release(store, batch.unsent)
            return True


# A 429 asking for at most SHORT_PAUSE seconds is waited out in the run, SHORT_PAUSES times a
# target at the most: Trakt allows one write a second across all of a user's clients, so a flush
# that starts within a second of another one's last write is told to wait a second, and ending
# the run for that would leave the queue to the next cron run. Longer pauses end the target's
# run (_stopped), with its jobs scheduled for then.
SHORT_PAUSE = 5.0
SHORT_PAUSES = 3


def _short_pause(
    runtime: Runtime, limiter: ServiceLimiter, unsent: list[int], exc: ServiceError, taken: int
) -> bool:
    """Hand a short 429's pause to the server's limiter, whose next wait sleeps it out (for
    every target on that server), with the batch's unsent jobs released (no attempt spent) so
    the next claim takes them again; False when it is not a short 429, or `taken` pauses
    already were."""
    if not isinstance(exc, RateLimited) or exc.retry_after > SHORT_PAUSE:
        return False
    if taken >= SHORT_PAUSES:
        return False
    queue.release(runtime.store(), unsent)
    limiter.not_before = max(limiter.not_before, runtime.clock.now() + exc.retry_after)
    return True


def _stopped(
    runtime: Runtime,
    profile: str,
    service: str,
    unsent: list[int],
    exc: ServiceError,
    result: ServiceReport,
) -> None:
    """The service said stop: snooze (429), wait for a login (401), or back off (the rest)."""
    store = runtime.store()
    if isinstance(exc, RateLimited):
        until = runtime.clock.now() + exc.retry_after
        queue.release(store, unsent, until=until)
        connections.defer(store, profile, service, until)
        result.deferred += len(unsent)
        result.deferred_until = until
    elif isinstance(exc, InvalidToken):
        queue.release(store, unsent)
        connection = connections.get_connection(store, profile, service)
        kind = connection.kind if connection else None
        detail = f"the credentials were refused; {login_hint(service, profile, kind)}"
        connections.mark_reconnect_required(store, profile, service, detail)
        result.reconnect = detail
    elif isinstance(exc, AccountProblem):
        # Retrying cannot help until the user acts: the jobs wait untouched.
        queue.release(store, unsent)
        detail = f"{exc.reason}; {exc.hint}" if exc.hint else exc.reason
        connections.mark(store, profile, service, connections.ATTENTION_REQUIRED, detail)
        result.attention = detail
    else:
        failed = queue.fail(store, unsent, exc.reason, runtime.clock.now(), backoff_delay)
        result.retry_scheduled += failed.retried
        result.discarded += failed.discarded
        result.retry_at = failed.next_at
        result.error = exc.reason


class _Paused(Exception):
    """The service asked for a pause for the whole connection; stop sending to it."""


class _Batch:
    """Sends one claimed batch and records each play's outcome as soon as it is known."""

    def __init__(
        self,
        runtime: Runtime,
        sender: Sender | RatingSender | RemovalSender,
        result: ServiceReport,
        profile: str,
    ) -> None:
        self.runtime = runtime
        self.sender = sender
        self.result = result
        self.profile = profile
        self.unsent: list[int] = []

    async def skip_known(self, plays: list[PlayRecord]) -> list[PlayRecord]:
        """Finish plays the service already has: imported or sent since they were queued, or
        (services that keep duplicates) sent by an attempt that was cut off."""
        store = self.runtime.store()
        service = self.sender.service
        known = {
            p.job_id
            for p in plays
            if service_has_play(
                store.conn,
                self.profile,
                service,
                p.item_id,
                p.watched_at,
                half_length_window(p.duration_ms, p.kind),
            )
        }
        retried = [p for p in plays if p.attempt > 1 and p.job_id not in known]
        if retried and not getattr(self.sender, "deduplicates", True):
            known |= await self.sender.already_there(retried)  # type: ignore[union-attr]
        if known:
            queue.complete(store, sorted(known), self.runtime.clock.now(), "already on service")
            self.result.already_there += len(known)
        return [p for p in plays if p.job_id not in known]

    async def send(self, ready: list[tuple[PlayRecord, Any]]) -> None:
        self.unsent = [play.job_id for play, _ in ready]
        await self._send(ready)

    async def _send(self, part: list[tuple[PlayRecord, Any]]) -> None:
        """A 400 on a batch splits it in halves to find the plays the service refuses."""
        if not part:
            return
        store = self.runtime.store()
        try:
            self.result.requests += 1
            outcomes = await self.sender.send(part)
        except BadRequest as exc:
            if len(part) == 1:
                self._refuse([(part[0][0].job_id, exc.reason)])
                return
            middle = len(part) // 2
            await self._send(part[:middle])
            await self._send(part[middle:])
            return
        now = self.runtime.clock.now()
        accepted = [
            play.job_id for (play, _), out in zip(part, outcomes, strict=True) if out is None
        ]
        removal = getattr(self.sender, "outcome", None)
        queue.complete(store, accepted, now, removal or "sent")
        if removal:
            self.result.removed += len(accepted)
        else:
            self.result.sent += len(accepted)
        self._done(accepted)
        self._refuse(
            [
                (play.job_id, out.reason)
                for (play, _), out in zip(part, outcomes, strict=True)
                if isinstance(out, Refused)
            ]
        )
        later = [(play, out) for (play, _), out in zip(part, outcomes, strict=True)]
        later = [(play, out) for play, out in later if isinstance(out, Later)]
        for play, out in later:
            queue.release(store, [play.job_id], until=out.until)
            self.result.deferred += 1
            self.result.deferred_until = max(self.result.deferred_until or 0, out.until)
            self._done([play.job_id])
        if later:
            # A cap for the day (Last.fm code 5): the whole connection waits, not just these.
            until = max(out.until for _, out in later)
            connections.defer(store, self.profile, self.sender.service, until)
            raise _Paused

    def _refuse(self, refusals: list[tuple[int, str]]) -> None:
        if not refusals:
            return
        queue.reject(self.runtime.store(), refusals, self.runtime.clock.now())
        self.result.rejected.extend(reason for _, reason in refusals)
        self._done([job_id for job_id, _ in refusals])

    def _done(self, ids: list[int]) -> None:
        finished = set(ids)
        self.unsent = [job_id for job_id in self.unsent if job_id not in finished]
