"""Telling the user when nobody is looking (issue 17): one message per cause, never repeated.

From cron, output goes to mail at best. With `notify.url` (SCROBCTL_NOTIFY__URL) set, a flush
sends one message through Apprise (ntfy, Gotify, e-mail, desktop, ...) when a target needs a
new login (or its token is not in the store in use), when plays are given up, and when a target
has failed for a day. Each cause has a key in the `notices` table, so the next runs stay quiet
until the cause changes: a login that works again clears its keys. `apprise` (with requests)
costs ~150 ms to import, so it is imported only when a message is actually sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scrobctl.errors import ConfigError, ScrobctlError
from scrobctl.runtime import Runtime
from scrobctl.store import connections, notices, queue

if TYPE_CHECKING:
    from scrobctl.scrobble.flush import FlushReport

FAILING_FOR = 24 * 3600.0  # a target failing this long is worth a message


@dataclass(frozen=True)
class Notice:
    key: str  # the cause: the same key is never sent twice
    title: str
    body: str


class NotifyFailed(ScrobctlError):
    """Apprise could not deliver the message (the server refused it or could not be reached)."""


def _apprise(url: str) -> object:
    import logging

    import apprise

    # Apprise logs its own failures; scrobctl reports them in one line of its own.
    logging.getLogger("apprise").addHandler(logging.NullHandler())
    logging.getLogger("apprise").propagate = False
    sender = apprise.Apprise()
    for one in url.split():
        if not sender.add(one):
            raise ConfigError(
                "notify.url is not an Apprise URL scrobctl can use",
                "see https://github.com/caronc/apprise/wiki for the forms"
                " (ntfy://host/topic, gotify://host/token, mailto://..., json://host/path)",
            )
    return sender


def send(url: str, title: str, body: str) -> None:
    """Deliver one message now, or raise NotifyFailed."""
    sender = _apprise(url)
    if not sender.notify(title=title, body=body):  # type: ignore[attr-defined]
        raise NotifyFailed(
            "the notification was not delivered", "check notify.url and that its server is up"
        )


def deliver(runtime: Runtime, found: list[Notice]) -> list[str]:
    """Send each notice whose cause was not sent before; the warnings for those that failed
    (kept unrecorded, so the next run tries again)."""
    url = runtime.settings.notify.url
    if not url:
        return []
    store = runtime.store()
    fresh = [n for n in found if not notices.was_sent(store, n.key)]
    problems = []
    for notice in fresh:
        try:
            send(url, notice.title, notice.body)
        except ScrobctlError as exc:
            problems.append(f"notification not sent ({exc.message}): {notice.title}")
            continue
        notices.record(store, notice.key, notice.title, runtime.clock.now())
    return problems


def _name(profile: str, service: str) -> str:
    return service if profile == "default" else f"{service} (profile {profile})"


def flush_notices(runtime: Runtime, report: FlushReport) -> list[Notice]:
    """The causes in one flush's report, and the bookkeeping that tells a new cause from an
    old one: keys of a connection that works again are cleared; a run of failures is dated."""
    store = runtime.store()
    now = runtime.clock.now()
    found: list[Notice] = []
    for r in report.services:
        c = connections.get_connection(store, r.profile, r.service)
        if c is None:
            continue  # not logged in: nothing was there to break
        name = _name(r.profile, r.service)
        base = f"{r.profile}:{r.service}"
        if r.reconnect and c.status == connections.RECONNECT_REQUIRED:
            found.append(
                Notice(
                    f"reconnect:{base}",
                    f"scrobctl: {name} needs a new login",
                    f"{name}: {c.status_detail or r.reconnect}. Its plays wait in the queue.",
                )
            )
        elif r.problem:
            found.append(
                Notice(f"unusable:{base}", f"scrobctl: {name} could not be used", r.problem)
            )
        elif not r.attention:
            notices.clear(store, f"reconnect:{base}")
            notices.clear(store, f"unusable:{base}")
        if r.discarded:
            last = queue.last_discarded(store, r.service, r.profile)
            plays = f"{r.discarded} play" + ("" if r.discarded == 1 else "s")
            found.append(
                Notice(
                    f"discarded:{base}:{last}",
                    f"scrobctl: {plays} given up for {name}",
                    f"{name}: {plays} could not be sent after every retry ({r.error}). "
                    "`scrobctl queue retry --state discarded` sends them again.",
                )
            )
        found.extend(_failing(runtime, r.profile, r.service, c, bool(r.sent), r.error, now))
    return found


def _failing(
    runtime: Runtime,
    profile: str,
    service: str,
    c: connections.Connection,
    sent: bool,
    error: str | None,
    now: float,
) -> list[Notice]:
    store = runtime.store()
    since = c.settings.get(connections.FAILING_SINCE)
    if sent or not error:
        if since is not None and sent:
            connections.set_setting(store, profile, service, connections.FAILING_SINCE, None)
        return []
    if since is None:
        connections.set_setting(store, profile, service, connections.FAILING_SINCE, now)
        return []
    if now - since < FAILING_FOR:
        return []
    name = _name(profile, service)
    return [
        Notice(
            f"failing:{profile}:{service}:{int(since)}",
            f"scrobctl: {name} has failed for a day",
            f"{name}: every send since {_utc(since)} failed, lately: {error}."
            " Its plays wait and are retried.",
        )
    ]


def _utc(ts: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def after_flush(runtime: Runtime, report: FlushReport, warn: Callable[[str], None]) -> None:
    """Find this flush's causes and send the new ones (nothing at all without notify.url)."""
    if not runtime.settings.notify.url:
        return
    for problem in deliver(runtime, flush_notices(runtime, report)):
        warn(problem)
