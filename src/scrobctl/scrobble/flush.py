"""`scrobctl flush`: send the queue, batch by batch, under the flush lock.

Order of commits, for crash safety: a batch is claimed (`running`) before it is sent and marked
`completed` right after the service accepts it. A kill between those two leaves it `running`; the
next flush takes it back and sends it again, which ListenBrainz drops as an identical listen.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from scrobctl.errors import (
    BadRequest,
    ExitCode,
    InvalidToken,
    RateLimited,
    ServiceError,
    login_hint,
)
from scrobctl.http import ServiceLimiter, backoff_delay
from scrobctl.lock import exclusive
from scrobctl.runtime import Runtime
from scrobctl.scrobble.senders import SENDER_SERVICES, Rejected, Sender, build_sender
from scrobctl.store import connections, queue


@dataclass
class ServiceReport:
    service: str
    profile: str
    sent: int = 0
    requests: int = 0
    rejected: list[str] = field(default_factory=list)
    retry_scheduled: int = 0
    retry_at: float | None = None
    discarded: int = 0
    deferred: int = 0
    deferred_until: float | None = None
    reconnect: str | None = None
    error: str | None = None


@dataclass
class FlushReport:
    services: list[ServiceReport] = field(default_factory=list)

    @property
    def exit_code(self) -> ExitCode:
        if any(r.reconnect for r in self.services):
            return ExitCode.RECONNECT
        if any(r.rejected or r.discarded for r in self.services):
            return ExitCode.FAILED
        return ExitCode.OK


async def flush(runtime: Runtime, services: tuple[str, ...] = SENDER_SERVICES) -> FlushReport:
    with exclusive(runtime.lock_path):
        store = runtime.store()
        run_id = uuid.uuid4().hex
        report = FlushReport()
        async with runtime.http_client() as http:
            tasks = [_flush_service(runtime, service, http, run_id, report) for service in services]
            await asyncio.gather(*tasks)
        _report_waiting(store, report)
        return report


def _report_waiting(store: Any, report: FlushReport) -> None:
    """Pending jobs for services nobody is logged in to: say so, they are kept."""
    seen = {(r.profile, r.service) for r in report.services}
    for profile, service, count in queue.services_with_pending(store):
        if (profile, service) in seen or service not in SENDER_SERVICES:
            continue
        if connections.get_connection(store, profile, service) is None:
            report.services.append(
                ServiceReport(
                    service,
                    profile,
                    deferred=count,
                    reconnect=f"not logged in; {login_hint(service, profile)}",
                )
            )


async def _flush_service(
    runtime: Runtime, service: str, http: httpx.AsyncClient, run_id: str, report: FlushReport
) -> None:
    store = runtime.store()
    limiter = ServiceLimiter(service, clock=runtime.clock)
    for profile in queue.due_profiles(store, service, runtime.clock.now()):
        connection = connections.get_connection(store, profile, service)
        if connection is None:
            continue  # reported by _report_waiting
        result = ServiceReport(service, profile)
        report.services.append(result)
        if not connection.usable:
            result.reconnect = f"needs a new login; {login_hint(service, profile)}"
            continue
        now = runtime.clock.now()
        if connection.deferred_until and connection.deferred_until > now:
            result.deferred_until = connection.deferred_until
            continue
        try:
            sender = build_sender(runtime, service, profile, http, limiter)
        except InvalidToken as exc:
            detail = f"{exc.reason}; {login_hint(service, profile)}"
            connections.mark_reconnect_required(store, profile, service, detail)
            result.reconnect = detail
            continue
        await _drain(runtime, sender, profile, run_id, result)


async def _drain(
    runtime: Runtime, sender: Sender, profile: str, run_id: str, result: ServiceReport
) -> None:
    """Claim and send batches until the queue is empty or the service says stop."""
    store = runtime.store()
    service = sender.service
    while True:
        plays = queue.claim(
            store,
            service=service,
            profile=profile,
            limit=sender.batch_size,
            run_id=run_id,
            now=runtime.clock.now(),
        )
        if not plays:
            return
        ready: list[tuple[int, Any]] = []
        rejections: list[tuple[int, str]] = []
        for play in plays:
            try:
                ready.append((play.job_id, sender.prepare(play)))
            except Rejected as exc:
                rejections.append((play.job_id, str(exc)))
        queue.reject(store, rejections, runtime.clock.now())
        result.rejected.extend(reason for _, reason in rejections)
        batch = _Batch(runtime, sender, result)
        try:
            await batch.send(ready)
        except RateLimited as exc:
            until = runtime.clock.now() + exc.retry_after
            queue.release(store, batch.unsent, until=until)
            connections.defer(store, profile, service, until)
            result.deferred += len(batch.unsent)
            result.deferred_until = until
            return
        except InvalidToken:
            queue.release(store, batch.unsent)
            detail = f"the token was refused; {login_hint(service, profile)}"
            connections.mark_reconnect_required(store, profile, service, detail)
            result.reconnect = detail
            return
        except ServiceError as exc:
            failed = queue.fail(
                store, batch.unsent, exc.message, runtime.clock.now(), backoff_delay
            )
            result.retry_scheduled += failed.retried
            result.discarded += failed.discarded
            result.retry_at = failed.next_at
            result.error = exc.message
            return  # a struggling service gets no more requests this run


class _Batch:
    """Sends a batch; a 400 splits it in halves to find the listens the service refuses."""

    def __init__(self, runtime: Runtime, sender: Sender, result: ServiceReport) -> None:
        self.runtime = runtime
        self.sender = sender
        self.result = result
        self.unsent: list[int] = []

    async def send(self, ready: list[tuple[int, Any]]) -> None:
        self.unsent = [job_id for job_id, _ in ready]
        await self._send(ready)

    async def _send(self, part: list[tuple[int, Any]]) -> None:
        if not part:
            return
        store = self.runtime.store()
        ids = [job_id for job_id, _ in part]
        try:
            self.result.requests += 1
            await self.sender.send([payload for _, payload in part])
        except BadRequest as exc:
            if len(part) == 1:
                queue.reject(store, [(ids[0], exc.message)], self.runtime.clock.now())
                self.result.rejected.append(exc.message)
                self._done(ids)
                return
            middle = len(part) // 2
            await self._send(part[:middle])
            await self._send(part[middle:])
            return
        queue.complete(store, ids, self.runtime.clock.now())
        self.result.sent += len(ids)
        self._done(ids)

    def _done(self, ids: list[int]) -> None:
        finished = set(ids)
        self.unsent = [job_id for job_id in self.unsent if job_id not in finished]
