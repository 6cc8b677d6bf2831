"""`scrobctl watch mpd|mpris|cmus`: follow a player and queue its plays as they finish."""

import re
import sys
from typing import TYPE_CHECKING, Any

import typer

from scrobctl.cli.output import Output, output
from scrobctl.errors import UsageError

if TYPE_CHECKING:
    import asyncio

    from scrobctl.scrobble.flush import FlushReport
    from scrobctl.scrobble.nowplaying import NowPlayingResult
    from scrobctl.watch.run import Follow, Render
    from scrobctl.watch.sink import Outcome, Sink

app = typer.Typer(
    help="Follow a music player and queue its plays (MPD, MPRIS players, cmus).",
    no_args_is_help=True,
)

DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*$")
UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600}
FLUSH_HELP = "Also send the queue every DURATION (e.g. 30s, 5m, 1h), as cron's `flush` would."


def parse_duration(text: str | None) -> float | None:
    if text is None:
        return None
    match = DURATION.match(text)
    if not match or float(match.group(1)) <= 0:
        raise UsageError(f"--flush-every: {text!r} is not a duration like 30s, 5m or 1h")
    return float(match.group(1)) * UNIT_SECONDS[match.group(2)]


def _label(event: dict[str, Any]) -> str:
    return f"{event.get('artist') or '?'} - {event.get('title') or '?'}"


def _played(event: dict[str, Any]) -> str:
    played = round(event.get("watched_ms", 0) / 1000)
    length = event.get("duration_ms")
    return f"played {played} s" + (f" of {round(length / 1000)} s" if length else "")


def _play(out: Output, outcome: "Outcome") -> None:
    event = outcome.event
    text = f"{_label(event)} ({_played(event)})"
    if outcome.verdict == "invalid":
        out.warn(f"not scrobbled: {text}: {outcome.reason}")
    elif outcome.verdict == "below threshold":
        out.info(f"not counted: {text}: {outcome.reason}")
    elif outcome.verdict == "recorded":
        out.info(f"recorded, no service takes it: {text}")
    elif outcome.verdict == "duplicate":
        out.info(f"already recorded: {text}")
    else:
        out.info(f"queued: {text}")


def _now_playing(out: Output, event: dict[str, Any], results: "list[NowPlayingResult]") -> None:
    shown = [r.service for r in results if r.error is None]
    if shown:
        out.info(f"now playing on {', '.join(shown)}: {_label(event)}")
    for r in results:
        if r.error is not None:
            out.warn(f"{r.service}: now playing not sent: {r.error}")


def _flushed(out: Output, report: "FlushReport | None") -> None:
    if report is None:
        out.info("flush: another `scrobctl flush` is running; left to it")
        return
    for r in report.services:
        problem = r.reconnect or r.attention or r.error
        if problem:
            print(f"{r.service}: {problem}", file=sys.stderr)
        elif r.sent:
            out.info(f"{r.service}: {r.sent} sent")


def _render(out: Output) -> "Render":
    from functools import partial

    from scrobctl.watch.run import Render

    return Render(
        say=out.info,
        warn=out.warn,
        play=partial(_play, out),
        now_playing=partial(_now_playing, out),
        flushed=partial(_flushed, out),
    )


def _run(out: Output, source: str, follow: "Follow", flush_interval: float | None) -> None:
    from scrobctl.cli.run import call
    from scrobctl.watch.run import run

    call(out, run, source, follow, _render(out), flush_interval=flush_interval)


@app.command("mpd")
def mpd(
    ctx: typer.Context,
    host: str = typer.Option(
        "localhost", "--host", envvar="MPD_HOST", help="MPD's host, or its socket path."
    ),
    port: int = typer.Option(
        6600, "--port", envvar="MPD_PORT", min=1, max=65535, help="MPD's TCP port."
    ),
    flush_every: str | None = typer.Option(
        None, "--flush-every", metavar="DURATION", help=FLUSH_HELP
    ),
) -> None:
    """Follow MPD over its protocol and queue each play when it ends.

    Time counts while MPD plays (pauses and seeks forward add nothing); a play ends when the
    song changes, MPD stops, or the same song starts again (repeat). Each start is shown as
    now playing. If MPD goes away the watcher reconnects. Stop it with Ctrl-C.

    Example: scrobctl watch mpd --host 127.0.0.1 --port 6600 --flush-every 5m
    """
    out = output(ctx)
    interval = parse_duration(flush_every)

    async def follow(sink: "Sink", stop: "asyncio.Event") -> None:
        from scrobctl.watch import mpd as watcher

        await watcher.watch(host, port, sink, sink.runtime.clock, stop, out.info)

    _run(out, "mpd", follow, interval)


@app.command("mpris")
def mpris(
    ctx: typer.Context,
    player: str | None = typer.Option(
        None,
        "--player",
        "-p",
        help="Which player (playerctl's names: spotify, vlc, firefox, `%any`); default: the"
        " active one.",
    ),
    flush_every: str | None = typer.Option(
        None, "--flush-every", metavar="DURATION", help=FLUSH_HELP
    ),
    print_format: bool = typer.Option(
        False,
        "--print-format",
        help="Print the playerctl --format that `scrobble --format playerctl` reads, and exit.",
    ),
) -> None:
    """Follow an MPRIS player (Spotify, browsers, VLC, ...) and queue each play when it ends.

    Runs `playerctl metadata --follow` and reads its lines. The same rules as `watch mpd`:
    time counts while playing, a play ends when the track
    changes, the player stops or the track starts again. Needs playerctl and a D-Bus session.

    Example: scrobctl watch mpris --player spotify
    """
    if print_format:
        from scrobctl.watch.playerctl import FORMAT

        sys.stdout.write(FORMAT + "\n")
        return
    out = output(ctx)
    interval = parse_duration(flush_every)
    from scrobctl.watch.mpris import command

    command(player)  # playerctl missing: say so before anything starts

    async def follow(sink: "Sink", stop: "asyncio.Event") -> None:
        from scrobctl.watch import mpris as watcher

        await watcher.watch(player, sink, sink.runtime.clock, stop, out.info, out.warn)

    _run(out, "mpris", follow, interval)


@app.command("cmus", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def cmus(
    ctx: typer.Context,
    args: list[str] = typer.Argument(None, metavar="STATUS_ARGS...", show_default=False),
) -> None:
    """Take one status change from cmus and queue the play it ends.

    Called by contrib/cmus/scrobctl-cmus, cmus's status_display_program. cmus runs the
    program on every change with key/value arguments (`status playing file
    /music/a.flac artist ... duration 218`); the open play is kept in the data folder between
    calls, so pauses are not counted and a stop or a new file ends the play.

    Example (in cmus): :set status_display_program=/path/to/contrib/cmus/scrobctl-cmus
    """
    from scrobctl.cli.run import Command
    from scrobctl.paths import ensure_private_dir
    from scrobctl.watch.cmus import observe
    from scrobctl.watch.run import deliver_once

    out = output(ctx)
    with Command(out) as cmd:
        ensure_private_dir(cmd.runtime.data_dir)
        events = observe(cmd.runtime.data_dir, args or [], cmd.runtime.clock.now())
        cmd.call(deliver_once, "cmus", events, _render(out))


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="watch", rich_help_panel="Scrobbling")
