"""`scrobctl tokens migrate`: move every login and API app of this archive to the other store.

Which entries exist comes from the database (its connections) and the services with API apps,
since a keyring cannot be listed. Each entry is written to the target and read back before it is
deleted from the source, so a failure half-way leaves every entry in at least one store.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from scrobctl.accounts.common import APP_FIELDS, APP_PROFILE, own_app_key
from scrobctl.errors import TokenStoreUnavailable, UsageError
from scrobctl.runtime import Runtime
from scrobctl.store import connections
from scrobctl.tokens import SECRET_KEY, describe

KINDS = ("keyring", "file")


@dataclass
class MigrateResult:
    source: str
    target: str
    logins: list[str] = field(default_factory=list)  # "service" or "service (profile)"
    apps: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)  # found in the target only
    missing: list[str] = field(default_factory=list)  # logins in neither store
    switch_needed: bool = False  # SCROBCTL_TOKEN_STORE still names the source


def _name(profile: str, service: str) -> str:
    return service if profile == "default" else f"{service} ({profile})"


def migrate_tokens(runtime: Runtime, to: str) -> MigrateResult:
    if to not in KINDS:
        raise UsageError(f"no token store {to!r}", "use --to keyring or --to file")
    source_kind = "file" if to == "keyring" else "keyring"
    warned: list[str] = []
    target = runtime.token_store(to, warned.append)
    source = runtime.token_store(source_kind, warned.append)
    result = MigrateResult(
        describe(source_kind, runtime.data_dir),
        describe(to, runtime.data_dir),
        switch_needed=runtime.settings.token_store != to,
    )
    kinds = {}
    entries = []
    own_apps = set()
    for c in connections.list_connections(runtime.store()):
        entries.append((c.profile, c.service, False))
        kinds[(c.profile, c.service)] = c.kind  # a target's secret's key follows its kind
        if c.url and c.kind in APP_FIELDS:  # a target at its own URL has its own app
            own_apps.add(own_app_key(c.service))
    entries += [(APP_PROFILE, service, True) for service in [*APP_FIELDS, *sorted(own_apps)]]
    for profile, service, is_app in entries:
        secret = source.get(profile, service)
        if not secret:
            if is_app:
                continue
            key = SECRET_KEY.get(kinds.get((profile, service), service), "token")
            there = (target.get(profile, service) or {}).get(key)
            (result.already if there else result.missing).append(_name(profile, service))
            continue
        target.set(profile, service, secret)
        if target.get(profile, service) != secret:
            raise TokenStoreUnavailable(
                f"the {result.target} did not keep the {service} entry; nothing was deleted",
                "check the store, then run the command again",
            )
        source.delete(profile, service)
        if is_app:
            result.apps.append(service.removeprefix(own_app_key("")))
        else:
            result.logins.append(_name(profile, service))
    if warned:
        runtime.warn(warned[-1])
    return result
