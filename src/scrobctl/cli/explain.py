"""`scrobctl explain PLAY|ITEM|-`: the ids and rule that matched, the look-alikes, the targets."""

import sys

import typer

from scrobctl.cli.output import local_time, output
from scrobctl.cli.params import JSON_OUTPUT


def explain(
    ctx: typer.Context,
    what: str = typer.Argument(
        ...,
        help="A play id (from `scrobctl history`), an item id like tmdb:603 or mbid:<uuid>, "
        "or - for history --json output or playback events on stdin.",
    ),
    json_output: bool = JSON_OUTPUT,
) -> None:
    """Explain a play or an item: which ids and which rule matched it (exact id, weak artist +
    title, TMDb look-up), the other items it could have been, and each target's job with its
    state, attempts and outcome.

    Example: scrobctl explain 1234
    """
    from dataclasses import asdict

    from scrobctl.cli.run import call
    from scrobctl.scrobble.explain import explain as run

    out = output(ctx, json=json_output)
    stdin = sys.stdin.read() if what == "-" else None
    explanations = call(out, run, what, stdin, read_only=True)
    if json_output:
        data = [asdict(e) for e in explanations]
        out.data(data[0] if len(data) == 1 and what != "-" else {"explanations": data})
        return
    for explanation in explanations:
        _render(explanation)


def _render(e: object) -> None:
    from scrobctl.cli.table import Table
    from scrobctl.store.explain import NEW, WEAK, Explanation

    assert isinstance(e, Explanation)

    def say(text: str) -> None:
        print(text)  # as given: titles may hold [brackets]

    if e.play is not None:
        say(
            f"play {e.play.id} at {local_time(e.play.watched_at)} (profile {e.play.profile},"
            f" from {e.play.source or 'scrobble'})"
        )
    if e.item is None:
        say(f"item: none yet ({e.match.detail}); scrobbling it makes a new item")
    else:
        ids = ", ".join(f"{k} {v}" for k, v in e.item.ids.items()) or "no ids"
        say(f"item {e.item.id}: {e.item.kind} {e.item.label} [{ids}]")
    rule = "weak match" if e.match.rule == WEAK else e.match.rule
    if e.match.rule != NEW:
        say(f"matched by: {rule} ({e.match.detail})")
    if e.candidates:
        say("it could have been:")
        for c in e.candidates:
            ids = ", ".join(f"{k} {v}" for k, v in c.ids.items()) or "no ids"
            say(f"  item {c.id}: {c.label} [{ids}], {c.plays} plays ({c.why})")
    else:
        say("no other item looks like it")
    if e.targets:
        table = Table("target", "job", "state", "attempts", "outcome / reason", "target's id")
        for t in e.targets:
            attempts = f"{t.attempts}/{t.max_attempts}" if t.attempts is not None else ""
            table.add_row(
                t.service,
                t.job or "-",
                t.state or ("has it" if t.has_it else "-"),
                attempts,
                t.reason or t.outcome or "",
                t.target_id or "",
            )
        table.print()
    elif e.play is not None:
        say("no target has it and none is queued")
    for play in e.plays:
        say(f"  play {play.id} at {local_time(play.watched_at)}")


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="History")(explain)
