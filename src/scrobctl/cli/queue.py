"""`scrobctl queue list|retry|drop`."""

from enum import StrEnum
from typing import TYPE_CHECKING

import typer

from scrobctl.cli.output import local_time, output, plural
from scrobctl.cli.params import JSON_OUTPUT
from scrobctl.errors import UsageError

if TYPE_CHECKING:
    from scrobctl.cli.run import Command

app = typer.Typer(help="Look at and manage queued jobs.", no_args_is_help=True)


class State(StrEnum):
    available = "available"
    running = "running"
    retryable = "retryable"
    completed = "completed"
    discarded = "discarded"
    rejected = "rejected"


# What `queue list` shows without --state or --all: what is still to be sent, and what failed.
DEFAULT_STATES = ("available", "running", "retryable", "discarded", "rejected")


@app.command("list")
def list_(
    ctx: typer.Context,
    state: list[State] = typer.Option(
        [], "--state", "-s", help="Only jobs in this state (repeatable)."
    ),
    service: str | None = typer.Option(
        None, "--service", help="Only this target's jobs (e.g. listenbrainz, maloja)."
    ),
    all_states: bool = typer.Option(False, "--all", "-a", help="Completed jobs too."),
    limit: int = typer.Option(100, "--limit", "-n", min=1, help="Show at most this many."),
    json_output: bool = JSON_OUTPUT,
) -> None:
    """List jobs, newest first: by default the pending and failed ones (discarded: given up
    after retries; rejected: refused by the service). Says how many it left out.

    Example: scrobctl queue list --state discarded
    """
    from dataclasses import asdict

    from scrobctl.cli.run import Command
    from scrobctl.store import queue

    out = output(ctx, json=json_output)
    with Command(out, read_only=True) as cmd:
        store = cmd.runtime.store()
        states = [s.value for s in state] or ([] if all_states else list(DEFAULT_STATES))
        name = service
        jobs = list(
            queue.list_jobs(store, states=states, service=name, limit=limit, newest_first=True)
        )
        matching = queue.count_jobs(store, states=states, service=name)
        hidden = (
            0
            if state or all_states
            else queue.count_jobs(store, states=["completed"], service=name)
        )
    beyond = matching - len(jobs)
    if json_output:
        out.data(
            {
                "jobs": [asdict(j) for j in jobs],
                "left_out": {"completed": hidden, "beyond_limit": beyond},
            }
        )
        return
    notes = []
    if beyond:
        notes.append(f"{plural(beyond, 'older job')} beyond --limit {limit}")
    if hidden:
        notes.append(f"{plural(hidden, 'completed job')} (--all shows them)")
    left_out = f"; left out: {', '.join(notes)}" if notes else ""
    if not jobs:
        out.info(f"no {'jobs' if state or all_states else 'pending or failed jobs'}{left_out}")
        return
    from scrobctl.cli.table import Table

    table = Table("id", "service", "state", "attempt", "item", "scheduled", "outcome / last error")
    for j in jobs:
        detail = j.outcome or j.last_error or ""
        when = local_time(j.scheduled_at) if j.state in ("available", "retryable") else ""
        table.add_row(
            str(j.id), j.service, j.state, f"{j.attempt}/{j.max_attempts}", j.item, when, detail
        )
    table.print()
    out.info(f"{plural(len(jobs), 'job')} shown{left_out}")


# The jobs `retry` and `drop` act on: ids, or every job in a state (see _targets).
JOB_IDS = typer.Argument(None, help="Job ids (see `scrobctl queue list`).")
IN_STATE = typer.Option(None, "--state", "-s", help="All jobs in this state.")
OF_TARGET = typer.Option(None, "--service", help="With --state: only this target.")


def _targets(cmd: "Command", ids: list[int], state: State | None, service: str | None) -> list[int]:
    from scrobctl.store import queue

    if ids and state:
        raise UsageError("give job ids or --state, not both")
    if ids:
        return ids
    if state is None:
        raise UsageError("name the jobs: job ids, or --state (e.g. --state discarded)")
    return queue.select_ids(cmd.runtime.store(), states=[state.value], service=service)


@app.command()
def retry(
    ctx: typer.Context,
    ids: list[int] = JOB_IDS,
    state: State | None = IN_STATE,
    service: str | None = OF_TARGET,
) -> None:
    """Make jobs due now with fresh attempts (typically given-up ones).

    `--state discarded` resends what was given up after retries, never what a service
    rejected; a rejected job is resent only when named by id or with `--state rejected`.

    Example: scrobctl queue retry --state discarded
    """
    import time

    from scrobctl.cli.run import Command
    from scrobctl.store import queue

    out = output(ctx)
    with Command(out) as cmd:
        targets = _targets(cmd, ids or [], state, service)
        now = time.time()
        n = queue.retry(cmd.runtime.store(), targets, now) if targets else 0
        lifted = queue.lift_pauses(cmd.runtime.store(), targets, now) if n else []
    for profile, name in lifted:
        suffix = "" if profile == "default" else f" (profile {profile})"
        out.info(f"the pause {name}{suffix} asked for was lifted for these jobs")
    out.info(f"{plural(n, 'job')} will be sent by the next `scrobctl flush`")


@app.command()
def drop(
    ctx: typer.Context,
    ids: list[int] = JOB_IDS,
    state: State | None = IN_STATE,
    service: str | None = OF_TARGET,
) -> None:
    """Delete jobs from the queue; their plays stay in your local history.

    Example: scrobctl queue drop --state discarded --service listenbrainz
    """
    from scrobctl.cli.run import Command
    from scrobctl.store import queue

    out = output(ctx)
    with Command(out) as cmd:
        targets = _targets(cmd, ids or [], state, service)
        n = queue.drop(cmd.runtime.store(), targets) if targets else 0
    out.info(f"{plural(n, 'job')} dropped")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="queue", rich_help_panel="Scrobbling")
