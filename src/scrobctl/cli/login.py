"""`scrobctl login` and `scrobctl logout`."""

from __future__ import annotations

import sys
from enum import StrEnum

import typer

from scrobctl.cli.output import info
from scrobctl.errors import UsageError

PROFILE_HELP = "Local profile the connection belongs to."


class LoginService(StrEnum):
    listenbrainz = "listenbrainz"


def _read_token(token_stdin: bool, service: str) -> str:
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
            f"use `scrobctl login {service} --token-stdin` and pipe the token in",
        )
    token = typer.prompt(
        "ListenBrainz user token (https://listenbrainz.org/settings/)", hide_input=True
    ).strip()
    if not token:
        raise UsageError("an empty token is not a token")
    return token


def login(
    service: LoginService = typer.Argument(..., help="The service to connect."),
    profile: str = typer.Option("default", "--profile", "-p", help=PROFILE_HELP),
    token_stdin: bool = typer.Option(
        False, "--token-stdin", help="Read the token from standard input (for scripts)."
    ),
) -> None:
    """Connect a service and keep its token in the keyring.

    The token is checked with the service before it is stored.

    Example: scrobctl login listenbrainz
    """
    from scrobctl.accounts import login_listenbrainz
    from scrobctl.cli.context import build_runtime

    runtime = build_runtime()
    try:
        token = _read_token(token_stdin, service.value)
        import asyncio

        result = asyncio.run(login_listenbrainz(runtime, profile, token))
    finally:
        runtime.close()
    suffix = "" if result.profile == "default" else f" (profile {result.profile})"
    info(f"Logged in to {result.service} as {result.account}{suffix}.")


def logout(
    service: LoginService = typer.Argument(..., help="The service to disconnect."),
    profile: str = typer.Option("default", "--profile", "-p", help=PROFILE_HELP),
    drop_queue: bool = typer.Option(
        False, "--drop-queue", help="Also delete this service's queued plays."
    ),
) -> None:
    """Forget a service's token. Queued plays are kept unless --drop-queue.

    Example: scrobctl logout listenbrainz
    """
    from scrobctl.accounts import logout as do_logout
    from scrobctl.cli.context import build_runtime

    runtime = build_runtime()
    try:
        result = do_logout(runtime, profile, service.value, drop_queue=drop_queue)
    finally:
        runtime.close()
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
