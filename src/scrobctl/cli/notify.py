"""`scrobctl notify test`."""

from __future__ import annotations

import typer

from scrobctl.cli.output import output
from scrobctl.errors import ConfigError

app = typer.Typer(
    help="Notifications (notify.url) for problems nobody is watching for.", no_args_is_help=True
)


@app.command("test")
def test(ctx: typer.Context) -> None:
    """Send a test message to notify.url (SCROBCTL_NOTIFY__URL), an Apprise URL.

    flush sends one message when a service needs a new login, when plays are given up, and
    when a service has failed for a day; the same cause is never sent twice.

    Example: SCROBCTL_NOTIFY__URL=ntfy://ntfy.sh/my-secret-topic scrobctl notify test
    """
    from scrobctl.config import load_settings
    from scrobctl.notify import send

    url = load_settings().notify.url
    if not url:
        raise ConfigError(
            "notify.url is not set",
            "set SCROBCTL_NOTIFY__URL or [notify] url in the config file to an Apprise URL",
        )
    send(url, "scrobctl: test notification", "scrobctl can reach you here.")
    output(ctx).info("test notification sent")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="notify", rich_help_panel="Setup")
