"""File locks: one `flush` at a time per data folder (an overlapping cron run leaves at once),
and one token refresh at a time per connection (a second process waits, then reuses the result)."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from scrobctl.errors import LockHeld


@contextmanager
def exclusive(path: Path, what: str = "flush", *, wait: bool = False) -> Iterator[None]:
    """Hold an flock on `path`. The OS drops it when the process dies, so a SIGKILL frees it.

    Without `wait`, a held lock raises LockHeld at once; with it, this blocks until it is free.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise LockHeld(
                f"another `scrobctl {what}` is running (pid {holder}); nothing was done",
                "it will finish on its own",
            ) from None
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
        except OSError as exc:
            # A full disk: stop here, before anything is sent that could not be recorded.
            raise OSError(exc.errno, exc.strerror, str(path)) from None
        yield
    finally:
        os.close(fd)


def held(path: Path) -> bool:
    """Whether some process holds the lock on `path` now (a killed holder holds nothing)."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops a lock taken here
    return False
