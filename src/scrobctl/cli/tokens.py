"""`scrobctl tokens migrate`."""

from enum import StrEnum

import typer

from scrobctl.cli.output import output
from scrobctl.errors import ExitCode

app = typer.Typer(help="Manage where tokens are kept.", no_args_is_help=True)


class StoreKind(StrEnum):
    keyring = "keyring"
    file = "file"


@app.command("migrate")
def migrate(
    ctx: typer.Context,
    to: StoreKind = typer.Option(..., "--to", help="The store to move the tokens to."),
) -> None:
    """Move this data folder's logins and API app credentials to the other token store.

    Each entry is written to the new store and read back before it is removed from the old one.
    Afterwards set SCROBCTL_TOKEN_STORE to the new store where it is not already.

    Example (a headless machine whose logins were made with the keyring):
    scrobctl tokens migrate --to file
    """
    from scrobctl.accounts.migrate import migrate_tokens
    from scrobctl.cli.run import call

    out = output(ctx)
    result = call(out, migrate_tokens, to.value)
    moved = [*result.logins, *(f"{name} API app" for name in result.apps)]
    if moved:
        out.info(f"moved from the {result.source} to the {result.target}: {', '.join(moved)}")
    else:
        out.info(f"nothing to move from the {result.source}")
    if result.already:
        out.info(f"already in the {result.target}: {', '.join(result.already)}")
    for name in result.missing:
        service = name.split(" ")[0]
        out.warn(f"{name}: no token in either store; run `scrobctl login {service}`")
    if result.switch_needed and moved:
        out.info(
            f"scrobctl now finds them with SCROBCTL_TOKEN_STORE={to.value}"
            " (set it in the environment or as token_store in the config file)"
        )
    if result.missing:
        raise typer.Exit(ExitCode.RECONNECT)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="tokens", rich_help_panel="Connections")
