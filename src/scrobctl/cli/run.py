"""The command wrapper: how a command reaches the library.

Every command that needs the runtime goes through `Command`, given the run's Output (from
`output(ctx)`): the runtime is built on first use
(settings, the token-file check, --verbose's HTTP log), async work gets its own event loop, and
the runtime is closed however the command ends. Ctrl-C ends the command with
`ExitCode.INTERRUPTED` (130) and the message given as `interrupted`: what was kept and how to go
on. This module imports nothing heavy: the runtime, asyncio and the use-case modules are loaded
only when a command runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from types import TracebackType

    from scrobctl.cli.output import Output
    from scrobctl.runtime import Runtime

T = TypeVar("T")


class Command:
    """One command's run: `with Command(out) as cmd: result = cmd.call(use_case, arg)`.

    `read_only=True` for a command that only reads the archive: the settings are read when
    something needs them, not first (cli/context.build_runtime)."""

    def __init__(
        self,
        out: Output,
        *,
        interrupted: Callable[[], str] | None = None,
        read_only: bool = False,
    ) -> None:
        self.out = out
        self.read_only = read_only
        self._runtime: Runtime | None = None
        if interrupted is not None:
            self.on_interrupt(interrupted)

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            from scrobctl.cli.context import build_runtime

            self._runtime = build_runtime(self.out, read_only=self.read_only)
        return self._runtime

    def on_interrupt(self, message: Callable[[], str]) -> None:
        """What Ctrl-C says from now on (exit code 130): what was kept, how to continue."""
        self.out.interrupted = message

    def run(self, work: Awaitable[T]) -> T:
        """Async work on an event loop of its own (`asyncio.run` lives here, at the CLI edge)."""
        import asyncio

        async def wait() -> T:
            return await work

        return asyncio.run(wait())

    def call(self, use_case: Callable[..., T | Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """`use_case(runtime, *args, **kwargs)`, awaited when it is a coroutine function."""
        result = use_case(self.runtime, *args, **kwargs)
        if hasattr(result, "__await__"):
            return self.run(result)  # type: ignore[arg-type]
        return result  # type: ignore[return-value]

    def close(self) -> None:
        if self._runtime is not None:
            self._runtime.close()
            self._runtime = None

    def __enter__(self) -> Command:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def call(
    out: Output,
    use_case: Callable[..., T | Awaitable[T]],
    *args: Any,
    read_only: bool = False,
    **kwargs: Any,
) -> T:
    """The one-step command: build the runtime, run `use_case` with it, close it."""
    with Command(out, read_only=read_only) as cmd:
        return cmd.call(use_case, *args, **kwargs)
