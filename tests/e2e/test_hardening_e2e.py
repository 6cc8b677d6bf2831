"""The installed `scrobctl` against a hostile server on 127.0.0.1 (tests/fakes/hostile.py), a full
2 MB tmpfs and odd input (issue #16): whatever goes wrong, one clear line, the right exit code,
no traceback, nothing marked sent that the server did not take, and the lock free afterwards.

The connection and the queue are prepared in-process (file token store, a ListenBrainz login,
plays through the real ingest); the commands under test run as subprocesses.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from scrobctl.config import Settings
from scrobctl.paths import DB_NAME, FLUSH_LOCK_NAME, TOKEN_FILE_NAME
from scrobctl.runtime import Runtime
from scrobctl.scrobble.enqueue import Ingest
from scrobctl.scrobble.events import Event, Line
from scrobctl.store import connections
from tests.fakes.hostile import Answer, HostileServer, MiB, drip, huge, json_answer
from tests.fakes.server import Request
from tests.helpers import json_data

PROFILE = "default"
SUBMIT = "/lb/1/submit-listens"
TIMEOUT = 60.0  # any one run; a guard against a hang, never a timing assertion
OK = json_answer(200, '{"status": "ok"}')


class Script:
    """The server's answers: ListenBrainz's good ones, unless a test sets `submit`."""

    def __init__(self) -> None:
        self.submit: Answer | None = None

    def __call__(self, request: Request) -> Answer:
        if request.path == "/lb/1/validate-token":
            return json_answer(200, '{"code": 200, "valid": true, "user_name": "rob"}')
        if request.path == SUBMIT:
            return self.submit or OK
        return json_answer(404, '{"code": 404, "error": "Not found"}')


@pytest.fixture
def script() -> Script:
    return Script()


@pytest.fixture
def server(script: Script) -> Iterator[HostileServer]:
    with HostileServer(script) as fake:
        yield fake


@pytest.fixture
def env(isolated_env: Path, server: HostileServer) -> dict[str, str]:
    env = dict(os.environ)
    env["SCROBCTL_TOKEN_STORE"] = "file"
    env["SCROBCTL_LISTENBRAINZ__API_URL"] = server.url + "/lb"
    env.pop("SCROBCTL_DEBUG", None)
    return env


def run(env: dict[str, str], *args: str, input: str = "") -> subprocess.CompletedProcess[str]:
    scrobctl = Path(sys.executable).parent / "scrobctl"
    return subprocess.run(
        [str(scrobctl), *args],
        input=input,
        capture_output=True,
        text=True,
        env=env,
        timeout=TIMEOUT,
        check=False,
    )


def tracks(count: int, start: int) -> list[dict[str, Any]]:
    return [
        {
            "type": "track",
            "title": f"Song {i:05d}",
            "artist": "The Hostiles",
            "duration_ms": 200_000,
            "watched_ms": 200_000,
            "watched_at": start + 300 * i,
        }
        for i in range(count)
    ]


def logged_in(data_dir: Path, plays: int = 3) -> None:
    """A ListenBrainz login in the file store and `plays` queued plays, written in-process."""
    runtime = Runtime(settings=Settings(data_dir=data_dir, token_store="file"), warn=lambda _: None)
    try:
        runtime.tokens().set(PROFILE, "listenbrainz", {"token": "hostile-token"})
        connections.save_login(runtime.store(), PROFILE, "listenbrainz", "rob")
        now = time.time()
        lines = [
            Line(i + 1, Event.model_validate(e))
            for i, e in enumerate(tracks(plays, int(now) - 86_400))
        ]
        routes = {PROFILE: {"track": ["listenbrainz"]}}
        jobs = Ingest(runtime.store(), routes, now=now).run(lines).jobs
        assert jobs.get("listenbrainz", 0) == plays
    finally:
        runtime.close()


def job_states(data_dir: Path) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{data_dir / DB_NAME}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT state, count(*) FROM jobs GROUP BY state").fetchall()
    finally:
        conn.close()
    return dict(rows)


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """stderr is one error line (warnings aside), never a traceback."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if not line.startswith("warning:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


# -- waits -------------------------------------------------------------------------------------


def test_flush_retry_after_of_400_nines_is_one_line_and_status_works_after(
    isolated_env: Path, env: dict[str, str], script: Script
) -> None:
    logged_in(isolated_env)
    script.submit = json_answer(
        429, '{"code": 429, "error": "slow down"}', **{"Retry-After": "9" * 400}
    )

    flushed = run(env, "flush")

    assert flushed.returncode == 0, flushed.stderr
    assert "Traceback" not in flushed.stderr
    assert len(flushed.stderr.strip().splitlines()) == 1, flushed.stderr
    assert job_states(isolated_env) == {"available": 3}
    status = run(env, "status", "--json")
    assert status.returncode == 0, status.stderr
    [connection] = json_data(status.stdout)["connections"]
    assert connection["deferred_until"] is not None  # a day ahead at most, and printable


def test_flush_against_a_server_dripping_a_byte_every_20_s_ends_by_its_deadline_lock_free(
    isolated_env: Path, env: dict[str, str], script: Script
) -> None:
    logged_in(isolated_env)
    script.submit = Answer(
        200, headers={"Content-Type": "application/json"}, stream=drip(20, 100), length=100
    )
    env["SCROBCTL_REQUEST_DEADLINE"] = "2"  # the real mechanism, with a deadline a test can wait

    flushed = run(env, "flush")

    assert flushed.returncode == 0, flushed.stderr
    assert "within 2 s" in flushed.stderr
    assert job_states(isolated_env) == {"retryable": 3}
    fd = os.open(isolated_env / FLUSH_LOCK_NAME, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises if a flush still held it
    finally:
        os.close(fd)


# -- reads -------------------------------------------------------------------------------------

PEAK_RSS = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:], capture_output=True).returncode
print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def test_flush_answered_with_a_500_mb_body_stays_under_150_mb_of_memory(
    isolated_env: Path, env: dict[str, str], script: Script
) -> None:
    logged_in(isolated_env)
    script.submit = huge(500 * MiB)
    scrobctl = str(Path(sys.executable).parent / "scrobctl")

    # A fresh parent whose only child is scrobctl, so RUSAGE_CHILDREN is scrobctl's own peak.
    measured = subprocess.run(
        [sys.executable, "-c", PEAK_RSS, scrobctl, "flush"],
        capture_output=True,
        text=True,
        env=env,
        timeout=TIMEOUT,
        check=True,
    )

    code, peak_kib = (int(x) for x in measured.stdout.split())
    assert code == 0
    assert peak_kib < 150 * 1024, f"peak RSS {peak_kib / 1024:.0f} MB"
    assert job_states(isolated_env) == {"retryable": 3}, "a body cut short is not an answer"


# -- input -------------------------------------------------------------------------------------


def test_scrobble_info_log_line_then_10000_events_counts_all_10000(
    isolated_env: Path, env: dict[str, str]
) -> None:
    logged_in(isolated_env, plays=0)
    events = tracks(10_000, int(time.time()) - 40 * 86_400)
    text = "[INFO] player started\n" + "".join(json.dumps(e) + "\n" for e in events)

    result = run(env, "scrobble", input=text)

    assert result.returncode == 1, result.stderr  # the log line is an invalid line
    assert "line 1: not a JSON object" in result.stderr
    assert "queued 10000" in result.stderr
    assert job_states(isolated_env) == {"available": 10_000}


# -- a full disk -------------------------------------------------------------------------------


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs (root only); skipped with the reason where mounting is not allowed."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("mounting a 2 MB tmpfs needs root and mount(8)")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> None:
    """Fill the file system to the last byte."""
    with (disk / "filler").open("wb", buffering=0) as fh:
        for size in (65536, 4096, 1):
            with contextlib.suppress(OSError):
                while True:
                    fh.write(b"\0" * size)
    for i in range(64):  # the last partial blocks
        try:
            (disk / f"filler-{i}").write_bytes(b"\0")
        except OSError:
            break


def test_flush_on_a_full_disk_is_one_line_saying_so_and_loses_nothing(
    tiny_disk: Path, env: dict[str, str]
) -> None:
    data = tiny_disk / "data"
    logged_in(data)
    (data / FLUSH_LOCK_NAME).unlink(missing_ok=True)
    fill(tiny_disk)
    env["SCROBCTL_DATA_DIR"] = str(data)

    result = run(env, "flush")

    assert result.returncode == 1, result.stderr
    line = one_line(result)
    assert "disk is full" in line and "doctor" not in line, line
    for filler in tiny_disk.glob("filler*"):
        filler.unlink()
    states = job_states(data)
    assert sum(states.values()) == 3 and set(states) <= {"available", "running", "completed"}


def test_login_on_a_full_disk_is_one_line_saying_so(tiny_disk: Path, env: dict[str, str]) -> None:
    data = tiny_disk / "data"
    data.mkdir(mode=0o700)
    fill(tiny_disk)
    env["SCROBCTL_DATA_DIR"] = str(data)

    result = run(env, "login", "listenbrainz", "--token-stdin", input="hostile-token\n")

    assert result.returncode == 1, result.stderr
    line = one_line(result)
    assert "disk is full" in line and "doctor" not in line, line


# -- the data folder and the token file ---------------------------------------------------------


def test_empty_data_dir_setting_is_a_usage_error_not_the_current_folder(
    env: dict[str, str], tmp_path: Path
) -> None:
    env["SCROBCTL_DATA_DIR"] = ""
    cwd = Path.cwd()
    os.chdir(tmp_path)
    try:
        for command in (["status"], ["flush"]):
            result = run(env, *command)
            assert result.returncode == 2, result.stderr
            assert "SCROBCTL_DATA_DIR" in one_line(result)
    finally:
        os.chdir(cwd)
    assert not (tmp_path / DB_NAME).exists()


def test_debug_prints_the_traceback_and_keeps_the_exit_code(env: dict[str, str]) -> None:
    env["SCROBCTL_DATA_DIR"] = ""

    result = run(env, "--debug", "status")

    assert result.returncode == 2
    assert "Traceback" in result.stderr


@pytest.mark.parametrize("shape", ["file", "dangling-symlink", "db-is-a-folder"])
def test_unusable_data_folder_is_one_line_not_a_traceback(
    tmp_path: Path, env: dict[str, str], shape: str
) -> None:
    data = tmp_path / "odd"
    if shape == "file":
        data.write_text("not a folder")
    elif shape == "dangling-symlink":
        data.symlink_to(tmp_path / "gone")
    else:
        (data / DB_NAME).mkdir(parents=True)
    env["SCROBCTL_DATA_DIR"] = str(data)

    for command in (["status"], ["flush"]):
        result = run(env, *command)
        assert result.returncode == 1, result.stderr
        assert str(data) in one_line(result)


def test_token_file_of_the_wrong_shape_is_one_line(isolated_env: Path, env: dict[str, str]) -> None:
    logged_in(isolated_env)
    (isolated_env / TOKEN_FILE_NAME).write_text("[]")

    result = run(env, "flush")

    assert result.returncode == 1, result.stderr
    assert TOKEN_FILE_NAME in one_line(result)
    assert job_states(isolated_env) == {"available": 3}


def test_token_file_readable_by_others_is_said_on_every_command(
    isolated_env: Path, env: dict[str, str]
) -> None:
    logged_in(isolated_env, plays=0)
    (isolated_env / TOKEN_FILE_NAME).chmod(0o644)

    for command in (["status"], ["history"], ["queue", "list"], ["flush"], ["flush", "-q"]):
        result = run(env, *command)
        assert result.returncode == 0, result.stderr
        assert "readable by others" in result.stderr, command


def test_read_only_data_folder_is_one_line_saying_so_not_corrupt(
    tiny_disk: Path, env: dict[str, str]
) -> None:
    data = tiny_disk / "data"
    logged_in(data)
    remount = ["mount", "-o", "remount,ro", str(tiny_disk)]
    done = subprocess.run(remount, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot remount the tmpfs read-only: {done.stderr.strip()}")
    env["SCROBCTL_DATA_DIR"] = str(data)

    for command in (["status"], ["flush"], ["logout", "listenbrainz"]):
        result = run(env, *command)
        assert result.returncode == 1, result.stderr
        line = one_line(result)
        assert "read-only" in line, line
        assert "corrupt" not in line and "doctor" not in line, line


@pytest.fixture
def own_folder(tmp_path: Path) -> Iterator[tuple[Path, Callable[[], None] | None]]:
    """A folder the scrobctl runs own, and how to drop to that owner: permission bits do not
    bind root, so as root the runs are made as `nobody` in a folder of theirs under /tmp."""
    if os.geteuid() != 0:
        yield tmp_path / "mine", None
        return
    import pwd
    import tempfile

    nobody = pwd.getpwnam("nobody")
    base = Path(tempfile.mkdtemp(prefix="scrobctl-perm-"))
    base.chmod(0o755)
    os.chown(base, nobody.pw_uid, nobody.pw_gid)

    def drop() -> None:
        os.setgid(nobody.pw_gid)
        os.setuid(nobody.pw_uid)

    try:
        probe = subprocess.run(
            [sys.executable, "-c", "import scrobctl"], preexec_fn=drop, capture_output=True
        ).returncode
    except OSError:
        probe = -1
    if probe != 0:
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip("permission bits do not bind root, and `nobody` cannot run this interpreter")
    try:
        yield base / "mine", drop
    finally:
        shutil.rmtree(base, ignore_errors=True)


def run_as(
    env: dict[str, str], user: Callable[[], None] | None, *args: str, input: str = ""
) -> subprocess.CompletedProcess[str]:
    scrobctl = Path(sys.executable).parent / "scrobctl"
    return subprocess.run(
        [str(scrobctl), *args],
        input=input,
        capture_output=True,
        text=True,
        env={**env, "HOME": "/tmp"},
        timeout=TIMEOUT,
        check=False,
        preexec_fn=user,
    )


@pytest.mark.parametrize("what", ["database-mode-0000", "folder-mode-0500"])
def test_unreadable_database_or_unwritable_folder_is_one_line_not_corrupt(
    own_folder: tuple[Path, Callable[[], None] | None], env: dict[str, str], what: str
) -> None:
    data, user = own_folder
    env["SCROBCTL_DATA_DIR"] = str(data)
    event = json.dumps(tracks(1, int(time.time()) - 86_400)[0]) + "\n"
    assert run_as(env, user, "scrobble", input=event).returncode == 0  # the folder, the database
    if what == "database-mode-0000":
        (data / DB_NAME).chmod(0)
    else:
        data.chmod(0o500)

    for command in (["status"], ["scrobble"]):
        result = run_as(env, user, *command, input=event)
        assert result.returncode == 1, result.stderr
        line = one_line(result)
        assert "permission" in line or "read-only" in line, line
        assert "corrupt" not in line and "doctor" not in line, line


def test_status_works_with_the_infinite_pause_an_older_flush_stored(
    isolated_env: Path, env: dict[str, str]
) -> None:
    logged_in(isolated_env)
    conn = sqlite3.connect(isolated_env / DB_NAME)
    with conn:
        conn.execute("UPDATE connections SET deferred_until = 9e999")  # inf, as before #16
    conn.close()

    for command in (["status"], ["status", "--json"]):
        result = run(env, *command)
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
