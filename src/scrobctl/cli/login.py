"""`scrobctl login` and `scrobctl logout`."""

from __future__ import annotations

import sys
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

import typer

from scrobctl.cli.choices import Service
from scrobctl.cli.output import info, local_time, plural, warn
from scrobctl.errors import UsageError

if TYPE_CHECKING:
    from scrobctl.accounts.common import LoginResult, LoginUI
    from scrobctl.runtime import Runtime

PROFILE_HELP = "Local profile the connection belongs to."


def _read_token(token_stdin: bool) -> str:
    if token_stdin:
        token = sys.stdin.readline().strip()
        if not token:
            raise UsageError(
                "no token on standard input", "pipe the token in, e.g. `echo $TOKEN |`"
            )
        return token
    if not sys.stdin.isatty():
        raise UsageError(
            "standard input is not a terminal, so there is no prompt for the token",
            "use `scrobctl login listenbrainz --token-stdin` and pipe the token in",
        )
    token = typer.prompt(
        "ListenBrainz user token (https://listenbrainz.org/settings/)", hide_input=True
    ).strip()
    if not token:
        raise UsageError("an empty token is not a token")
    return token


def login(
    service: Service = typer.Argument(..., help="The service to connect."),
    profile: str = typer.Option("default", "--profile", "-p", help=PROFILE_HELP),
    token_stdin: bool = typer.Option(
        False, "--token-stdin", help="ListenBrainz: read the token from standard input."
    ),
    no_browser: bool = typer.Option(
        False, "--no-browser", help="Do not offer to open the browser."
    ),
    force: bool = typer.Option(
        False, "--force", "-f", help="Log in again even when already logged in."
    ),
    queue_archived: bool | None = typer.Option(
        None,
        "--queue-archived/--no-queue-archived",
        help="Queue the archived plays this service lacks (asked on a terminal). When already"
        " logged in, --queue-archived only queues them.",
        show_default=False,
    ),
) -> None:
    """Connect a service; its token goes to the keyring (or the file store).

    Trakt shows a code to enter at trakt.tv/activate, Simkl a PIN for simkl.com/pin, Last.fm a
    link to allow access; ListenBrainz asks for your user token. Trakt, Simkl and Last.fm need
    your own API app: login says where to create one and asks for it once.

    Plays recorded before the login are not on the service yet: login counts them and offers
    to queue them for the next `scrobctl flush`.

    Example: scrobctl login trakt
    """
    import asyncio

    from scrobctl.cli.context import build_runtime
    from scrobctl.cli.login_ui import TerminalLoginUI

    if token_stdin and service is not Service.listenbrainz:
        raise UsageError("--token-stdin is for listenbrainz; the others log in in the browser")
    runtime = build_runtime()
    try:
        account = _logged_in(runtime, profile, service.value)
        if account is not None and queue_archived:
            _offer_archived(runtime, profile, service.value, True)
            return
        if account is not None and not force and not _again(service.value, account, profile):
            return
        from scrobctl.accounts.common import ensure_writable

        ensure_writable(runtime)  # before anyone is asked for a token
        if service is Service.listenbrainz:
            from scrobctl.accounts.listenbrainz import login_listenbrainz

            flow = login_listenbrainz(runtime, profile, _read_token(token_stdin))
        else:
            ui = TerminalLoginUI(open_browser=not no_browser)
            flow = _browser_login(service, runtime, profile, ui)
        result = asyncio.run(flow)
        suffix = "" if result.profile == "default" else f" (profile {result.profile})"
        expiry = f"; token valid until {local_time(result.expires_at)}" if result.expires_at else ""
        info(f"Logged in to {result.service} as {result.account}{suffix}{expiry}.")
        _offer_archived(runtime, profile, service.value, queue_archived)
    finally:
        runtime.close()


def _logged_in(runtime: Runtime, profile: str, service: str) -> str | None:
    """The account of a working login (the connection is ok and its token is in the store in
    use), or None."""
    from scrobctl.store import connections
    from scrobctl.tokens import SECRET_KEY

    c = connections.get_connection(runtime.store(), profile, service)
    if c is None or not c.usable:
        return None
    secret = runtime.tokens().get(profile, service) or {}
    return (c.account or "?") if secret.get(SECRET_KEY.get(service, "token")) else None


def _again(service: str, account: str, profile: str) -> bool:
    """Already logged in: ask on a terminal; elsewhere say so (a script must add --force)."""
    suffix = "" if profile == "default" else f" (profile {profile})"
    if sys.stdin.isatty() and sys.stderr.isatty():
        again = typer.confirm(
            f"Already logged in to {service} as {account}{suffix}. Log in again?",
            default=False,
            err=True,
        )
        if not again:
            info(f"kept the login to {service} as {account}")
        return again
    raise UsageError(
        f"already logged in to {service} as {account}{suffix}",
        "add --force to log in again",
    )


def _offer_archived(runtime: Runtime, profile: str, service: str, answer: bool | None) -> None:
    """Plays recorded before this login: queue them if asked (or, on a terminal, if the person
    agrees); otherwise say how many and the command that queues them."""
    from scrobctl.scrobble.archived import Lacking, count_for, decline, queue_archived

    n = count_for(runtime, profile, service)
    if not n:
        if answer:
            info(f"no archived plays are missing on {service}")
        return
    what = plural(n, "archived play")
    if answer is None and sys.stdin.isatty() and sys.stderr.isatty():
        answer = typer.confirm(
            f"{what} recorded before this login {'is' if n == 1 else 'are'} not on {service}."
            " Queue them for the next flush?",
            default=True,
            err=True,
        )
    if answer is False:
        decline(runtime, profile, service)
        info(f"{what} recorded before this login left unqueued")
    elif answer:
        queued = queue_archived(runtime, profile, service)
        info(f"queued {plural(queued, 'archived play')} for {service}; `scrobctl flush` sends them")
    else:
        command = Lacking(profile, service, n).command
        info(
            f"{what} recorded before this login {'is' if n == 1 else 'are'} not on {service};"
            f" `{command}` queues them"
        )


def _browser_login(
    service: Service, runtime: Runtime, profile: str, ui: LoginUI
) -> Coroutine[Any, Any, LoginResult]:
    if service is Service.trakt:
        from scrobctl.accounts.trakt import login_trakt

        return login_trakt(runtime, profile, ui)
    if service is Service.simkl:
        from scrobctl.accounts.simkl import login_simkl

        return login_simkl(runtime, profile, ui)
    from scrobctl.accounts.lastfm import login_lastfm

    return login_lastfm(runtime, profile, ui)


def logout(
    service: Service = typer.Argument(..., help="The service to disconnect."),
    profile: str = typer.Option("default", "--profile", "-p", help=PROFILE_HELP),
    drop_queue: bool = typer.Option(
        False, "--drop-queue", help="Also delete this service's queued plays."
    ),
) -> None:
    """Forget a service's token (Trakt's is revoked too). Queued plays are kept.

    Example: scrobctl logout trakt --drop-queue
    """
    import asyncio

    from scrobctl.accounts.logout import logout as do_logout
    from scrobctl.cli.context import build_runtime

    runtime = build_runtime()
    try:
        result = asyncio.run(do_logout(runtime, profile, service.value, drop_queue=drop_queue))
    finally:
        runtime.close()
    if result.revoke_error:
        warn(f"the token could not be revoked ({result.revoke_error}); it was forgotten anyway")
    if not result.was_connected:
        info(f"{result.service} was not connected for profile {result.profile}.")
    else:
        info(f"Logged out of {result.service}.")
    if result.kept_jobs:
        info(
            f"{result.kept_jobs} queued plays kept; they are sent after "
            f"`scrobctl login {result.service}`."
        )
    if result.dropped_jobs:
        info(f"{result.dropped_jobs} queued plays dropped.")


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="Connections")(login)
    app.command(rich_help_panel="Connections")(logout)
