"""A private D-Bus session with gnome-keyring's Secret Service, for tests of the real keyring.

CI installs gnome-keyring (.ci/run). Elsewhere the tests that need it are skipped, unless CI is
set, where a missing Secret Service is a failure rather than a silent skip.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def running_secret_service(home: Path) -> Iterator[dict[str, str]]:
    """Start dbus-daemon and an unlocked gnome-keyring; yield the env that reaches them."""
    missing = [b for b in ("dbus-daemon", "gnome-keyring-daemon") if not shutil.which(b)]
    if missing:
        message = f"Secret Service tests need {', '.join(missing)} (apt-get install gnome-keyring)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    started = subprocess.run(
        ["dbus-daemon", "--session", "--fork", "--print-address=1", "--print-pid=1"],
        capture_output=True,
        text=True,
        check=True,
    )
    address, pid = started.stdout.split()[:2]
    env = {
        "DBUS_SESSION_BUS_ADDRESS": address,
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_RUNTIME_DIR": str(home),
    }
    try:
        subprocess.run(
            ["gnome-keyring-daemon", "--unlock", "--components=secrets", "--daemonize"],
            input="scrobctl-test\n",
            capture_output=True,
            text=True,
            env={**os.environ, **env},
            check=True,
            timeout=30,
        )
        yield env
    finally:
        # gnome-keyring-daemon leaves when its bus goes away.
        os.kill(int(pid), signal.SIGTERM)
