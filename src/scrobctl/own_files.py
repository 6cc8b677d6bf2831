"""The small files scrobctl keeps of its own: the token file and the serve tokens beside the
database, and the settings file. Each is read whole and replaced at once, readable by its owner
only (they hold secrets or app credentials), so a crash leaves the old file or the new one, never
half of one."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from scrobctl.errors import ScrobctlError


def read_json(path: Path, what: str, hint: str, error: type[ScrobctlError]) -> Any:
    """The JSON the file holds, {} when there is none; a file that cannot be read or is not
    JSON raises `error`, naming `what` the file is, with `hint`."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise error(f"cannot read {what} ({type(exc).__name__})", hint) from None


def replace(path: Path, text: str, prefix: str, suffix: str = "") -> None:
    """Write `text` to a temporary file beside `path` (`prefix`, `suffix`: its name), then move
    it over `path` in one step. The folder must exist: each file's folder has its own mode.
    An OSError names `path`, not the temporary file (a full disk, a read-only folder)."""
    import tempfile  # here: only a write needs it (it imports random and shutil; issue #25)

    try:
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=suffix)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(temp, path)
    except OSError as exc:
        Path(temp).unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
