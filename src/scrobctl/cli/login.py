"""`scrobctl login` and `scrobctl logout`."""

import sys
from typing import TYPE_CHECKING

import typer

from scrobctl.cli.choices import Service
from scrobctl.cli.output import Output, local_time, output, plural
from scrobctl.errors import UsageError

if TYPE_CHECKING:
    from scrobctl.runtime import Runtime
    from scrobctl.targets import Target

PROFILE_HELP = "Local profile the connection belongs to."


def _read_secret(from_stdin: bool, prompt: str, flag: str, what: str) -> str:
    """A secret from the first line of standard input, or from a hidden prompt."""
    if from_stdin:
        secret = sys.stdin.readline().strip()
        if not secret:
            raise UsageError(
                f"no {what} on standard input",
                f"pipe the {what} in, e.g. `echo ${what.upper()} |`",
            )
        return secret
    if not sys.stdin.isatty():
        raise UsageError(
            f"standard input is not a terminal, so there is no prompt for the {what}",
            f"use `{flag}` and pipe the {what} in",
        )
    secret = typer.prompt(prompt, hide_input=True).strip()
    if not secret:
        raise UsageError(f"an empty {what} is not a {what}")
    return secret


def _read_token(token_stdin: bool, name: str, kind: str) -> str:
    prompt = "ListenBrainz user token (https://listenbrainz.org/settings/)"
    flag = "scrobctl login listenbrainz --token-stdin"
    if name != kind:  # a named target
        prompt = f"Token for {name} (for a Maloja: one of its API keys)"
        flag = f"scrobctl login listenbrainz --name {name} --token-stdin"
    return _read_secret(token_stdin, prompt, flag, "token")


def login(
    ctx: typer.Context,
    service: Service = typer.Argument(..., help="The kind of service to connect."),
    profile: str = typer.Option("default", "--profile", "-p", help=PROFILE_HELP),
    token_stdin: bool = typer.Option(
        False, "--token-stdin", help="ListenBrainz: read the token from standard input."
    ),
    no_browser: bool = typer.Option(
        False, "--no-browser", help="Do not offer to open the browser."
    ),
    name: str | None = typer.Option(
        None,
        "--name",
        help="A target of its own with this name (e.g. maloja), next to the kind's default.",
    ),
    url: str | None = typer.Option(
        None,
        "--url",
        help="The target's API root (a self-hosted or compatible server, Trakt's staging API).",
    ),
    password: bool = typer.Option(
        False,
        "--password",
        help="Last.fm kind: log in with user name and password (auth.getMobileSession); the"
        " password is asked for, or read from standard input when that is not a terminal.",
    ),
    user: str | None = typer.Option(
        None, "--user", help="With --password: the user name on that server."
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

    --name and --url add a target of its own next to the default one: a self-hosted
    ListenBrainz, a Maloja, Libre.fm, Trakt's staging API. --name alone is a second account on
    the kind's own service (with the kind's API app); a target at a URL of its own has an API
    app of its own (asked once, or SCROBCTL_TARGETS__NAME__CLIENT_ID). Logging in to it again
    needs only --name.

    Plays recorded before the login are not on the service yet: login counts them and offers
    to queue them for the next `scrobctl flush`.

    Example: scrobctl login trakt

    Example: scrobctl login listenbrainz --name maloja --url http://localhost:42010/apis/listenbrainz

    Example: scrobctl login trakt --name trakt-staging --url https://api-staging.trakt.tv
    """
    from scrobctl import kinds
    from scrobctl.cli.login_ui import TerminalLoginUI
    from scrobctl.cli.run import Command

    spec = kinds.kind(service.value)
    if token_stdin and spec.login_with != "token":
        raise UsageError("--token-stdin is for listenbrainz; the others log in in the browser")
    if password and spec.password_login is None:
        raise UsageError("--password is for the lastfm kind (Last.fm-compatible servers)")
    out = output(ctx)
    with Command(out) as cmd:
        from scrobctl.accounts.targets import known_account, target_for_login

        runtime = cmd.runtime

        target = target_for_login(runtime, profile, service.value, name, url)
        logged_in = _logged_in(runtime, target, url)
        if logged_in is not None and queue_archived:
            _offer_archived(out, runtime, profile, target.name, True, target.kind)
            return
        if logged_in is not None and not force and not _again(out, target.name, logged_in, profile):
            return
        from scrobctl.accounts.common import ensure_writable

        ensure_writable(runtime)  # before anyone is asked for a token
        if spec.login_with == "token":
            token = _read_token(token_stdin, target.name, target.kind)
            flow = kinds.load(spec.login)(runtime, profile, token, target)
        elif spec.password_login and (password or target.url):
            account = user or known_account(runtime, profile, target.name) or _ask_user()
            secret = _read_secret(
                not sys.stdin.isatty(),
                f"Password for {account} on {target.name} (for a Maloja: one of its API keys)",
                "--password",
                "password",
            )
            flow = kinds.load(spec.password_login)(runtime, target, account, secret)
        else:
            ui = TerminalLoginUI(open_browser=not no_browser)
            flow = kinds.load(spec.login)(runtime, profile, ui, target)
        result = cmd.run(flow)
        suffix = "" if result.profile == "default" else f" (profile {result.profile})"
        expiry = f"; token valid until {local_time(result.expires_at)}" if result.expires_at else ""
        out.info(f"Logged in to {result.service} as {result.account}{suffix}{expiry}.")
        if result.server is not None:
            _server_note(out, result.service, result.server)
        _offer_archived(out, runtime, profile, target.name, queue_archived, target.kind)


def _server_note(out: Output, name: str, server_key: str) -> None:
    """What a server that is not the kind's own takes, and what scrobctl leaves out there."""
    from scrobctl.targets import SERVERS

    server = SERVERS[server_key]
    lacks = [
        what
        for what, has in (
            ("import", not server.history),
            ("loves or feedback", server.loves),
            ("now-playing", server.now_playing),
        )
        if not has
    ]
    batch = "one play a request" if server.batch_size == 1 else "batches"
    out.info(
        f"{name} is a {server.label}: plays go to it {batch};"
        f" it has no {', '.join(lacks)}, so scrobctl does not try them there."
    )


def _ask_user() -> str:
    if not sys.stdin.isatty():
        raise UsageError("no user name given", "add `--user NAME`")
    answer = typer.prompt("User name").strip()
    if not answer:
        raise UsageError("an empty user name is not a user name")
    return answer


def _logged_in(runtime: "Runtime", target: "Target", url: str | None) -> str | None:
    """The account of a working login to the target (the connection is ok and its token is in
    the store in use), or None. A --url other than the target's own is a new login."""
    from scrobctl.store import connections
    from scrobctl.tokens import SECRET_KEY

    c = connections.get_connection(runtime.store(), target.profile, target.name)
    if c is None or not c.usable or (url is not None and target.url != c.url):
        return None
    secret = runtime.tokens().get(target.profile, target.name) or {}
    return (c.account or "?") if secret.get(SECRET_KEY.get(c.kind, "token")) else None


def _again(out: Output, service: str, account: str, profile: str) -> bool:
    """Already logged in: ask on a terminal; elsewhere say so (a script must add --force)."""
    suffix = "" if profile == "default" else f" (profile {profile})"
    if sys.stdin.isatty() and sys.stderr.isatty():
        again = typer.confirm(
            f"Already logged in to {service} as {account}{suffix}. Log in again?",
            default=False,
            err=True,
        )
        if not again:
            out.info(f"kept the login to {service} as {account}")
        return again
    raise UsageError(
        f"already logged in to {service} as {account}{suffix}",
        "add --force to log in again",
    )


def _offer_archived(
    out: Output,
    runtime: "Runtime",
    profile: str,
    service: str,
    answer: bool | None,
    kind: str | None = None,
) -> None:
    """Plays recorded before this login: queue them if asked (or, on a terminal, if the person
    agrees); otherwise say how many and the command that queues them."""
    from scrobctl.scrobble.archived import Lacking, count_for, decline, queue_archived

    n = count_for(runtime, profile, service)
    if not n:
        if answer:
            out.info(f"no archived plays are missing on {service}")
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
        out.info(f"{what} recorded before this login left unqueued")
    elif answer:
        queued = queue_archived(runtime, profile, service)
        out.info(
            f"queued {plural(queued, 'archived play')} for {service}; `scrobctl flush` sends them"
        )
    else:
        command = Lacking(profile, service, n, kind).command
        out.info(
            f"{what} recorded before this login {'is' if n == 1 else 'are'} not on {service};"
            f" `{command}` queues those it lacks"
        )


def logout(
    ctx: typer.Context,
    service: str = typer.Argument(
        ..., help="The target to disconnect: a kind's name, or a named one (e.g. maloja)."
    ),
    profile: str = typer.Option("default", "--profile", "-p", help=PROFILE_HELP),
    drop_queue: bool = typer.Option(
        False, "--drop-queue", help="Also delete this service's queued plays."
    ),
) -> None:
    """Forget a service's token (Trakt's is revoked too). Queued plays are kept.

    Example: scrobctl logout trakt --drop-queue
    """
    from scrobctl.accounts.logout import logout as do_logout
    from scrobctl.cli.run import call

    out = output(ctx)
    result = call(out, do_logout, profile, service, drop_queue=drop_queue)
    if result.revoke_error:
        out.warn(f"the token could not be revoked ({result.revoke_error}); it was forgotten anyway")
    if not result.was_connected:
        out.info(f"{result.service} was not connected for profile {result.profile}.")
    else:
        out.info(f"Logged out of {result.service}.")
    if result.kept_jobs:
        out.info(
            f"{result.kept_jobs} queued plays kept; they are sent after "
            f"`{_login_command(result.service, result.kind)}`."
        )
    if result.dropped_jobs:
        out.info(f"{result.dropped_jobs} queued plays dropped.")


def _login_command(name: str, kind: str | None) -> str:
    if kind and kind != name:
        return f"scrobctl login {kind} --name {name} --url URL"
    return f"scrobctl login {name}"


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="Connections")(login)
    app.command(rich_help_panel="Connections")(logout)
