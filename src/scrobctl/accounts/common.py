"""What every login flow shares: the UI it talks to, app credentials, and polling."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol, TypeVar

from scrobctl.clock import Clock
from scrobctl.errors import ScrobctlError, UsageError
from scrobctl.kinds import KINDS
from scrobctl.runtime import Runtime
from scrobctl.targets import Target

APP_PROFILE = "@app"  # token-store key for the user's own API app; not a valid profile name


class LoginFailed(ScrobctlError):
    """The user did not complete the login (denied, expired, code gone)."""


@dataclass(frozen=True)
class LoginResult:
    service: str
    profile: str
    account: str
    expires_at: float | None = None
    server: str | None = None  # the server type found at login (targets.SERVERS)


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    secret: bool


class LoginUI(Protocol):
    """How a flow talks to the person logging in; the CLI implements it with Rich."""

    interactive: bool

    def show_code(self, code: str | None, url: str, expires_in: int) -> None: ...

    def offer_browser(self, url: str) -> None: ...

    def waiting(self, message: str) -> AbstractContextManager[object]: ...

    def ask_app_credentials(self, service: str, help_text: str, fields: list[Field]) -> dict: ...


# Each kind's own API app, as kinds.py declares it (ListenBrainz needs none).
APP_FIELDS: dict[str, list[Field]] = {
    k.name: [Field(*f) for f in k.app_fields] for k in KINDS.values() if k.app_fields
}


def ensure_writable(runtime: Runtime) -> None:
    """Before asking anyone for a token: can it be kept? A missing keyring or a read-only data
    folder is found now, not after the code was entered."""
    import os

    from scrobctl.errors import TokenStoreUnavailable
    from scrobctl.paths import ensure_private_dir

    tokens = runtime.tokens()
    if tokens.name == "file":
        try:
            ensure_private_dir(runtime.data_dir)
        except OSError as exc:
            raise TokenStoreUnavailable(
                f"cannot create the data folder {runtime.data_dir} ({exc.strerror})",
                "fix its permissions or set SCROBCTL_DATA_DIR",
            ) from None
        if not os.access(runtime.data_dir, os.W_OK):
            raise TokenStoreUnavailable(
                f"the token file cannot be written: {runtime.data_dir} is not writable",
                "fix its permissions or set SCROBCTL_DATA_DIR",
            )
        return
    tokens.set(APP_PROFILE, "probe", {"probe": True})
    tokens.delete(APP_PROFILE, "probe")


@dataclass(frozen=True)
class _AppSource:
    """Where one API app is looked for, and how to tell the user to set it."""

    key: str  # under APP_PROFILE in the token store
    who: str  # the kind, or the target with an app of its own
    configured: object  # its settings section (None: none)
    env: str
    help_text: str
    url: str | None = None  # the server a target's own app was registered with


def _app_source(
    runtime: Runtime, service: str, help_text: str, target: Target | None
) -> _AppSource:
    fields = APP_FIELDS[service]
    if target is None or not target.own_app:
        env = ", ".join(f"SCROBCTL_{service.upper()}__{f.name.upper()}" for f in fields)
        return _AppSource(service, service, getattr(runtime.settings, service), env, help_text)
    name, url = target.name, target.api_url(runtime)
    commands = " and ".join(f"`scrobctl config set targets.{name}.{f.name} ...`" for f in fields)
    if name.isidentifier():  # else no shell can export the variable
        names = ", ".join(f"SCROBCTL_TARGETS__{name.upper()}__{f.name.upper()}" for f in fields)
        env = f"{names}, or run {commands}"
    else:
        env = f"them with {commands}"
    help_text = (
        f"{name} is at {url}: register an API app with that server, as for {service} itself"
        f" ({help_text})"
    )
    return _AppSource(
        own_app_key(name), name, runtime.settings.targets.get(name), env, help_text, url
    )


def app_credentials(
    runtime: Runtime,
    service: str,
    help_text: str,
    ui: LoginUI | None,
    target: Target | None = None,
) -> dict[str, str]:
    """The user's own API app for `service`: settings (env/file) first, then the keyring.

    When neither has them and a person is at the terminal, ask once and keep them in the token
    store (the secret never goes to the config file or the database). A target at a URL of its
    own (`target.own_app`) has an app of its own, found the same way under its name
    (`targets.NAME` in the settings): the kind's app is registered with the kind's server, and
    its secret is never sent to another host. One kept from a login to another URL is not
    used either: it is asked for again.
    """
    fields = APP_FIELDS[service]
    source = _app_source(runtime, service, help_text, target)
    values = {
        f.name: getattr(source.configured, f.name)
        for f in fields
        if getattr(source.configured, f.name, None)
    }
    if len(values) == len(fields):
        return values
    stored = runtime.tokens().get(APP_PROFILE, source.key) or {}
    if source.url is not None and stored.get("url") != source.url:
        stored = {}
    merged = {**{f.name: stored.get(f.name) for f in fields}, **values}
    if all(merged.get(f.name) for f in fields):
        return merged
    who = source.who
    what = f"{service} API app" if who == service else f"API app of {who} ({service})"
    if ui is None or not ui.interactive:
        raise UsageError(f"no {what} is set up", f"{source.help_text}; then set {source.env}")
    answers = ui.ask_app_credentials(who, source.help_text, fields)
    merged.update({k: v.strip() for k, v in answers.items() if v and v.strip()})
    if not all(merged.get(f.name) for f in fields):
        raise UsageError(f"the {what} needs {', '.join(f.label for f in fields)}")
    kept: dict[str, str] = {f.name: str(merged[f.name]) for f in fields}
    if source.url is not None:
        kept["url"] = source.url
    runtime.tokens().set(APP_PROFILE, source.key, kept)
    return {f.name: str(merged[f.name]) for f in fields}


def own_app_key(name: str) -> str:
    """Where a target's own API app is kept in the token store (under APP_PROFILE). A ':' is in
    no target name, so it never meets a kind's app or the write probe."""
    return f"target:{name}"


T = TypeVar("T")


MAX_POLL_INTERVAL = 60.0  # the longest wait between two polls that slowing down reaches


async def poll(
    clock: Clock,
    attempt: Callable[[], Awaitable[T | None]],
    *,
    interval: float,
    expires_in: float,
) -> T:
    """Call `attempt` every `interval` seconds until it returns a value or time runs out.

    `attempt` returns None to keep waiting; it raises SlowDown (Trakt's `slow_down`, Simkl's
    "Slow down") to double the interval, up to MAX_POLL_INTERVAL.
    """
    deadline = clock.now() + expires_in
    while clock.now() < deadline:
        await clock.sleep(interval)
        try:
            result = await attempt()
        except SlowDown:
            interval = min(interval * 2, MAX_POLL_INTERVAL)
            continue
        if result is not None:
            return result
    raise LoginFailed("the code expired before it was approved", "run the login again")


class SlowDown(Exception):
    """The service asked us to poll less often."""
