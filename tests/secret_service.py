"""A private D-Bus session with gnome-keyring's Secret Service, for tests of the real keyring.

CI installs gnome-keyring (.ci/run). Elsewhere the tests that need it are skipped, unless CI is
set, where a missing Secret Service is a failure rather than a silent skip.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
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
        _wait_until_it_answers({**os.environ, **env})
        yield env
    finally:
        # gnome-keyring-daemon leaves when its bus goes away.
        os.kill(int(pid), signal.SIGTERM)


# What the tests do first, as a probe: the daemon returns from --daemonize before its Secret
# Service answers, and on a loaded CI machine the first test then met keyring's InitError.
PROBE = """
import keyring
from keyring.backends import SecretService
k = SecretService.Keyring()
k.set_password("scrobctl-probe", "probe", "ok")
assert k.get_password("scrobctl-probe", "probe") == "ok"
k.delete_password("scrobctl-probe", "probe")
"""


def _wait_until_it_answers(env: dict[str, str], timeout: float = 30.0) -> None:
    """Return once a keyring round trip through the new Secret Service works; fail after
    `timeout` seconds with what the last try said."""
    env = {k: v for k, v in env.items() if k != "PYTHON_KEYRING_BACKEND"}
    deadline = time.monotonic() + timeout
    while True:
        probe = subprocess.run(
            [sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=30
        )
        if probe.returncode == 0:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"the Secret Service did not answer within {timeout:.0f} s: {probe.stderr}")
        time.sleep(0.2)
