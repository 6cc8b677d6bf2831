"""scrobctl benchmarks: every figure beside its floor, measured in the same run.

    python benchmarks/run.py            # full sizes (about 10 minutes: the flush section waits on
                                        # the services' documented rate limits)
    python benchmarks/run.py --quick    # small sizes, to prove the scripts work (CI runs this)
    python benchmarks/run.py --json     # the same figures as JSON
    python benchmarks/run.py --only startup,ingest

Absolute times vary by machine; ratios to the floors are what count. Nothing here asserts.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import math
import os
import platform
import re
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.lastfm import FakeLastfm  # noqa: E402
from tests.fakes.listenbrainz import FakeListenBrainz  # noqa: E402
from tests.fakes.simkl import FakeSimkl  # noqa: E402
from tests.fakes.trakt import FakeTrakt  # noqa: E402

PYTHON = sys.executable
SCROBCTL = str(Path(sys.executable).parent / "scrobctl")
LATENCY = 0.05  # seconds a fake service takes to answer
TOKEN = "bench-token"

# Batch sizes and documented rates (requests per second) per service.
BATCH = {"listenbrainz": 1000, "lastfm": 50, "trakt": 100, "simkl": 100}
RATE = {"listenbrainz": 3.0, "lastfm": 1.0, "trakt": 1.0, "simkl": 1.0}


@dataclass
class Row:
    section: str
    name: str
    value: float
    unit: str
    floor: float | None = None
    floor_name: str = ""
    ratio: float | None = None
    target: str = ""
    met: bool | None = None
    cpu_ratio: float | None = None  # the same ratio in CPU seconds (user + system)


def median_time(
    cmd: list[str], env: dict[str, str], runs: int, stdin: Callable[[int], str] | None = None
) -> float:
    times = []
    for i in range(runs):
        started = time.perf_counter()
        subprocess.run(
            cmd,
            input=stdin(i) if stdin else None,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def fresh_env(data: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCROBCTL_")}
    # An empty config file beside the data folder (one SCROBCTL_CONFIG names that is missing
    # is warned about, and keeps `flush` off its fast path).
    config = data.with_name(f"{data.name}-config.toml")
    config.parent.mkdir(parents=True, exist_ok=True)
    config.touch()
    env.update(
        SCROBCTL_DATA_DIR=str(data),
        SCROBCTL_CONFIG=str(config),
        SCROBCTL_TOKEN_STORE="file",
        **extra,
    )
    return env


def run(
    cmd: list[str], env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, input=stdin, env=env, capture_output=True, text=True, timeout=3600)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr[-800:]}")
    return done


def track_event(i: int, at: int) -> str:
    return json.dumps(
        {
            "type": "track",
            "title": f"Track {i}",
            "artist": f"Artist {i % 997}",
            "album": f"Album {i % 4001}",
            "duration_ms": 200_000,
            "watched_ms": 150_000,
            "watched_at": at,
        }
    )


def movie_event(i: int, at: int) -> str:
    return json.dumps(
        {
            "type": "movie",
            "percentage": 95,
            "duration_ms": 6_000_000,
            "watched_at": at,
            "ids": {"tmdb": 100_000 + i},
        }
    )


# -- start-up ----------------------------------------------------------------------------


def startup(quick: bool, work: Path) -> list[Row]:
    runs = 3 if quick else 21
    data = work / "startup"
    env = fresh_env(data)
    run([SCROBCTL, "status"], env)  # create the database: flush then finds an empty queue
    floor_pass = median_time([PYTHON, "-c", "pass"], env, runs)
    floor_typer = median_time([PYTHON, "-c", "import typer"], env, runs)
    rows = [
        Row("startup", "python -c pass", floor_pass * 1000, "ms"),
        Row("startup", "python -c 'import typer'", floor_typer * 1000, "ms"),
    ]
    cases: list[tuple[str, list[str], Callable[[int], str] | None, float | None]] = [
        ("scrobctl --version", [SCROBCTL, "--version"], None, 1.2),
        ("scrobctl flush (empty queue)", [SCROBCTL, "flush"], None, 1.5),
    ]  # the everyday commands are in the archive section, beside a large archive
    for name, cmd, stdin, target in cases:
        t = median_time(cmd, env, runs, stdin)
        ratio = t / floor_typer
        rows.append(
            Row(
                "startup",
                name,
                t * 1000,
                "ms",
                floor_typer * 1000,
                "import typer",
                ratio,
                f"<= {target}x" if target else f"{t / floor_pass:.1f}x python -c pass",
                ratio <= target if target else None,
            )
        )
    return rows


# -- ingest ------------------------------------------------------------------------------


def ingest(quick: bool, work: Path) -> list[Row]:
    n, runs = (2_000, 1) if quick else (100_000, 5)
    logged_in = work / "ingest"
    with FakeListenBrainz(tokens={TOKEN: "rob"}) as lb:
        env = fresh_env(logged_in, SCROBCTL_LISTENBRAINZ__API_URL=lb.url)
        run([SCROBCTL, "login", "listenbrainz", "--token-stdin"], env, TOKEN + "\n")
    now = int(time.time())
    events = "\n".join(track_event(i, now - n * 60 + i * 60) for i in range(n)) + "\n"

    # Each run's ingest is compared with the floor measured right before it and right after it
    # (their mean), the executemany writing the rows an ingest of the same lines wrote: this
    # machine's speed drifts by up to 2x within an hour, and even one floor measured 10 s
    # from its ingest moved a run's ratio by a tenth. The ratios reported are the medians of
    # the runs' ratios. A first, untimed ingest gives the rows of the first floor.
    def one_ingest(i: int) -> tuple[Path, float, float]:
        data = work / f"ingest-{i}"  # each on a fresh copy of the logged-in data folder
        shutil.copytree(logged_in, data)
        env = fresh_env(data, SCROBCTL_LISTENBRAINZ__API_URL="http://127.0.0.1:9")
        before = _child_cpu()
        started = time.perf_counter()
        run([SCROBCTL, "scrobble"], env, events)
        return data, time.perf_counter() - started, _child_cpu() - before

    def one_floor(data: Path, i: int) -> tuple[float, float, float, float]:
        """(write wall, write CPU, parse wall, parse CPU)"""
        return (*_write_same_rows(data / "scrobctl.db", work / f"floor-{i}.db"), *_parse(events))

    data, _, _ = one_ingest(-1)
    floors_at = [one_floor(data, -1)]  # floors_at[i] was measured before run i's ingest
    times, cpus = [], []
    for i in range(runs):
        data, took, cpu = one_ingest(i)
        times.append(took)
        cpus.append(cpu)
        floors_at.append(one_floor(data, i))

    def bracketed(part: int) -> list[float]:
        return [(a[part] + b[part]) / 2 for a, b in itertools.pairwise(floors_at)]

    floors, floor_cpus, parses, parse_cpus = (bracketed(part) for part in range(4))
    rate = n / statistics.median(times)
    floor = n / statistics.median(floors)
    parsed = n / statistics.median(parses)
    # parsing, then that executemany, one after the other, as one process must
    both_walls = [f + p for f, p in zip(floors, parses, strict=True)]
    both_cpus = [f + p for f, p in zip(floor_cpus, parse_cpus, strict=True)]
    both = n / statistics.median(both_walls)

    def ratio(floor_times: list[float], took: list[float]) -> float:
        return statistics.median(f / t for f, t in zip(floor_times, took, strict=True))

    both_ratio = ratio(both_walls, times)
    counted = _ingest_instructions(quick, work, logged_in, events)
    # The same ratios in CPU seconds (user + system): steadier than wall-clock time on a
    # shared machine. The floor's CPU is this process's, around its executemany and commit.
    return [
        Row(
            "ingest",
            f"{n:,} events piped to scrobble",
            rate,
            "events/s",
            floor,
            "its rows by sqlite3.executemany, one transaction",
            ratio(floors, times),
            ">= 20,000 events/s",
            rate >= 20_000,
            ratio(floor_cpus, cpus),
        ),
        Row("ingest", "the same lines parsed by the event model", parsed, "events/s"),
        Row(
            "ingest",
            "parsing, then that executemany",
            both,
            "events/s",
            None,
            "",
            both_ratio,
            ">= 0.8x (the piped rate to this)",
            both_ratio >= 0.8,
            ratio(both_cpus, cpus),
        ),
        *counted,
    ]


def _ingest_instructions(quick: bool, work: Path, logged_in: Path, events: str) -> list[Row]:
    """The same ratio in instructions executed, counted by valgrind (callgrind) on the first
    20,000 lines: a count does not change with the machine's speed, which on a shared machine
    moves the timed ratios by a tenth from one run to the next. The ingest is the whole
    `scrobctl scrobble` process, as timed; the floor is a process that parses the lines and
    then writes the rows an ingest of them wrote, less the same process stopped before both."""
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: no instruction counts for ingest", file=sys.stderr)
        return []
    n = 200 if quick else 20_000
    text = "".join(events.splitlines(keepends=True)[:n])
    lines = work / "counted.jsonl"
    lines.write_text(text)
    wrote = work / "counted-rows"
    shutil.copytree(logged_in, wrote)
    env = fresh_env(wrote, SCROBCTL_LISTENBRAINZ__API_URL="http://127.0.0.1:9")
    run([SCROBCTL, "scrobble"], env, text)
    counted = work / "counted-ingest"
    shutil.copytree(logged_in, counted)
    ingest_env = fresh_env(counted, SCROBCTL_LISTENBRAINZ__API_URL="http://127.0.0.1:9")
    floor = [PYTHON, __file__, "--floor-process"]
    source = str(wrote / "scrobctl.db")
    total, whole, setup = _instructions(
        [
            ([SCROBCTL, "scrobble"], ingest_env, lines),
            ([*floor, "all", source, str(work / "counted-all.db"), str(lines)], env, None),
            ([*floor, "setup", source, str(work / "counted-setup.db"), str(lines)], env, None),
        ]
    )
    floor_count = whole - setup
    ratio = floor_count / total
    return [
        Row(
            "ingest",
            f"{n:,} events piped, instructions (callgrind)",
            total / 1e6,
            "M instr.",
            floor_count / 1e6,
            "parsing, then that executemany",
            ratio,
            ">= 0.8x",
            ratio >= 0.8,
        )
    ]


def _instructions(jobs: list[tuple[list[str], dict[str, str], Path | None]]) -> list[int]:
    """Instructions each command executes (`valgrind --tool=callgrind`), run side by side:
    a count does not depend on what else runs. The hash seed is fixed, since dictionaries
    and sets laid out by another seed take a different number of steps."""
    outs = [
        Path(tempfile.gettempdir()) / f"scrobctl-callgrind-{os.getpid()}-{i}"
        for i in range(len(jobs))
    ]
    started = []
    for (cmd, env, stdin), out in zip(jobs, outs, strict=True):
        started.append(
            subprocess.Popen(
                ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *cmd],
                stdin=stdin.open("rb") if stdin else subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                env={**env, "PYTHONHASHSEED": "0"},
                text=True,
            )
        )
    counts = []
    for i, process in enumerate(started):
        _, err = process.communicate(timeout=3600)
        outs[i].unlink(missing_ok=True)
        found = re.search(r"Collected : (\d+)", err)
        if process.returncode not in (0, 1) or found is None:
            raise SystemExit(f"valgrind {' '.join(jobs[i][0])} failed: {err[-800:]}")
        counts.append(int(found.group(1)))
    return counts


def _parse(text: str) -> tuple[float, float]:
    """Seconds (wall clock, CPU) for scrobctl's stdin model to read the lines, with no
    database at all."""
    data = text.encode()
    cpu = time.process_time()
    started = time.perf_counter()
    _read_all(data)
    return time.perf_counter() - started, time.process_time() - cpu


def _read_all(data: bytes) -> None:
    from scrobctl.scrobble.events import read_events

    for _ in read_events(io.BytesIO(data)):
        pass


def _write_same_rows(
    source: Path, target: Path, tables: tuple[str, ...] | None = None
) -> tuple[float, float]:
    """Seconds (wall clock, CPU) to write the items, plays and jobs the run wrote into an empty
    database with scrobctl's schema (indexes included), by plain executemany in one
    transaction, on a connection opened as scrobctl opens its own (the same pragmas)."""
    conn, rows_of = _same_rows(source, target, tables)
    cpu = time.process_time()
    started = time.perf_counter()
    _write_rows(conn, rows_of)
    took = time.perf_counter() - started, time.process_time() - cpu
    conn.close()
    return took


def _same_rows(
    source: Path, target: Path, tables: tuple[str, ...] | None = None
) -> tuple[sqlite3.Connection, dict[str, list[tuple[object, ...]]]]:
    """An empty database with scrobctl's schema, opened as scrobctl opens its own, and the
    rows of `tables` in `source`, read."""
    from scrobctl.store import open_store
    from scrobctl.store.db import connect

    open_store(target).close()
    src = sqlite3.connect(source)
    rows_of = {name: src.execute(f"SELECT * FROM {name}").fetchall() for name in tables or TABLES}
    src.close()
    return connect(target), rows_of


def _write_rows(conn: sqlite3.Connection, rows_of: dict[str, list[tuple[object, ...]]]) -> None:
    conn.execute("BEGIN")
    for name, rows in rows_of.items():
        marks = ", ".join("?" * len(rows[0]))
        conn.executemany(f"INSERT INTO {name} VALUES ({marks})", rows)
    conn.execute("COMMIT")


def floor_process(setup_only: bool, source: Path, target: Path, events: Path) -> NoReturn:
    """The parse-then-write floor as a process of its own, whose instructions valgrind
    counts (`--floor-process`). With `setup_only` it does all but the parse and the write, so
    that the difference of the two counts is theirs. It ends without tearing down (as the
    timed floor is not timed closing), the same way in both."""
    conn, rows_of = _same_rows(source, target)
    data = events.read_bytes()
    if not setup_only:
        _read_all(data)
        _write_rows(conn, rows_of)
    os._exit(0)


TABLES = ("items", "plays", "jobs")  # in the order their foreign keys need


# -- flush -------------------------------------------------------------------------------


def _login_all(env: dict[str, str]) -> None:
    run([SCROBCTL, "login", "listenbrainz", "--token-stdin"], env, TOKEN + "\n")
    for service in ("trakt", "simkl", "lastfm"):
        run([SCROBCTL, "login", service, "--no-browser"], env)


def flush(quick: bool, work: Path, queued: tuple[int, ...] = ()) -> list[Row]:
    n = 200 if quick else 10_000
    data = work / "flush"
    lb = FakeListenBrainz(tokens={TOKEN: "rob"}, latency=LATENCY)
    trakt = FakeTrakt(latency=LATENCY)
    simkl = FakeSimkl(pending_polls=0, latency=LATENCY)
    lastfm = FakeLastfm(auto_approve_after=0, latency=LATENCY)
    for fake in (lb, trakt, simkl, lastfm):
        fake.start()
    try:
        env = fresh_env(
            data,
            SCROBCTL_LISTENBRAINZ__API_URL=lb.url,
            SCROBCTL_TRAKT__API_URL=trakt.url,
            SCROBCTL_TRAKT__AUTH_URL=trakt.url,
            SCROBCTL_TRAKT__CLIENT_ID=trakt.client_id,
            SCROBCTL_TRAKT__CLIENT_SECRET=trakt.client_secret,
            SCROBCTL_SIMKL__API_URL=simkl.url,
            SCROBCTL_SIMKL__CLIENT_ID=simkl.client_id,
            SCROBCTL_LASTFM__API_URL=lastfm.url + "/2.0/",
            SCROBCTL_LASTFM__AUTH_URL=lastfm.url + "/api/auth/",
            SCROBCTL_LASTFM__API_KEY=lastfm.api_key,
            SCROBCTL_LASTFM__API_SECRET=lastfm.api_secret,
        )
        _login_all(env)
        now = int(time.time())
        events = [track_event(i, now - n - 10 + i) for i in range(n)]
        events += [movie_event(i, now - 20 * n - 100 + i * 20) for i in range(n)]
        run([SCROBCTL, "scrobble"], env, "\n".join(events) + "\n")
        for fake in (lb, trakt, simkl, lastfm):
            fake.requests.clear()
        started = time.perf_counter()
        mono = time.monotonic()
        run([SCROBCTL, "flush"], env)
        wall = time.perf_counter() - started
    finally:
        for fake in (lb, trakt, simkl, lastfm):
            fake.stop()
    writes = {
        "listenbrainz": [r for r in lb.requests if r.path == "/1/submit-listens"],
        "trakt": [r for r in trakt.requests if r.path == "/sync/history" and r.method == "POST"],
        "simkl": [r for r in simkl.requests if r.path == "/sync/history" and r.method == "POST"],
        "lastfm": [
            r for r in lastfm.requests if r.method == "POST" and b"track.scrobble" in r.body
        ],
    }
    rows = []
    floors = []
    for service, requests in writes.items():
        minimum = math.ceil(n / BATCH[service])
        floor = max(minimum / RATE[service], minimum * LATENCY)
        # the service's last request arrived this long after the flush started, plus its answer
        took = (max(r.arrived for r in requests) - mono + LATENCY) if requests else float("nan")
        floors.append(floor)
        rows.append(
            Row(
                "flush",
                f"{service}: requests for {n:,} plays",
                len(requests),
                "requests",
                minimum,
                "plays / batch",
                len(requests) / minimum,
                "= minimum",
                len(requests) == minimum,
            )
        )
        rows.append(
            Row(
                "flush",
                f"{service}: time",
                took,
                "s",
                floor,
                "max(requests / rate, requests x latency)",
                took / floor,
                "<= 1.2x",
                took / floor <= 1.2,
            )
        )
    rows.append(
        Row(
            "flush",
            "whole flush (services in parallel)",
            wall,
            "s",
            max(floors),
            "slowest service's floor",
            wall / max(floors),
            "<= 1.2x",
            wall / max(floors) <= 1.2,
        )
    )
    return rows + flush_by_queue_size(quick, work, queued)


def _queue_plays(data: Path, plays: int) -> None:
    """`plays` queued plays for ListenBrainz, logged in, row for row what `scrobble` writes
    (store/pending.py): items, plays and their available jobs carrying the play's time. By SQL
    because piping a million events in would take most of an hour on this machine."""
    with FakeListenBrainz(tokens={TOKEN: "rob"}) as lb:
        env = fresh_env(data, SCROBCTL_LISTENBRAINZ__API_URL=lb.url)
        run([SCROBCTL, "login", "listenbrainz", "--token-stdin"], env, TOKEN + "\n")
    conn = sqlite3.connect(data / "scrobctl.db")
    items = min(ARCHIVE_ITEMS, plays)
    start = 1_300_000_000
    recorded = time.time()
    with conn:
        conn.executemany(
            "INSERT INTO items (id, kind, title, artist, album, duration_ms, weak_key,"
            " created_at) VALUES (?, 'track', ?, ?, ?, 200000, ?, ?)",
            (
                (i, f"Track {i}", f"Artist {i % 997}", f"Album {i % 4001}", f"w{i}", recorded)
                for i in range(1, items + 1)
            ),
        )
        conn.executemany(
            "INSERT INTO plays (id, profile, item_id, watched_at, duration_ms, played_ms,"
            " source, created_at) VALUES (?, 'default', ?, ?, 200000, 150000, 'stdin', ?)",
            ((i, 1 + i % items, start + i * 240, recorded) for i in range(1, plays + 1)),
        )
        conn.execute(
            "INSERT INTO jobs (kind, service, profile, play_id, state, attempt, max_attempts,"
            " scheduled_at, created_at, errors, unique_key, played_at)"
            " SELECT 'scrobble', 'listenbrainz', 'default', id, 'available', 0, 10, ?, ?, '[]',"
            " 'scrobble:listenbrainz:' || id, watched_at FROM plays",
            (recorded, recorded),
        )
    conn.close()


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _flush_queued(plays: int, work: Path) -> tuple[int, float, float, float]:
    """(requests, wall s, CPU s of the flush, CPU s of the empty flush that follows it)."""
    data = work / f"flush-queued-{plays}"
    shutil.rmtree(data, ignore_errors=True)
    _queue_plays(data, plays)
    with FakeListenBrainz(tokens={TOKEN: "rob"}, latency=LATENCY) as lb:
        env = fresh_env(data, SCROBCTL_LISTENBRAINZ__API_URL=lb.url)
        cpu, started = _child_cpu(), time.perf_counter()
        run([SCROBCTL, "flush"], env)
        wall, cpu = time.perf_counter() - started, _child_cpu() - cpu
        requests = sum(1 for r in lb.requests if r.path == "/1/submit-listens")
        empty = _child_cpu()
        run([SCROBCTL, "flush"], env)
        empty = _child_cpu() - empty
    shutil.rmtree(data, ignore_errors=True)
    return requests, wall, cpu, empty


def _median_flush(plays: int, work: Path, runs: int) -> tuple[int, float, float, float]:
    """The one of `runs` flushes of `plays` queued whose CPU is the median (`_flush_queued`)."""
    flushes = sorted((_flush_queued(plays, work) for _ in range(runs)), key=lambda f: f[2])
    return flushes[len(flushes) // 2]


def flush_by_queue_size(quick: bool, work: Path, sizes: tuple[int, ...] = ()) -> list[Row]:
    """issue #25: a batch costs scrobctl the same CPU however many plays are queued, and that
    cost stays under the interval ListenBrainz's rate allows between batches, so the whole flush
    runs at the rate floor. A batch's CPU is the flush's less a flush of one queued play (start-up,
    opening the store, building the sender: the fixed part), over the batches after the first.
    The fixed part and the smallest size (the one the others are compared with) are the median of
    three flushes: the fixed part is subtracted from every size, and one slow sample of it (0.5-0.64
    s here) moved the 10,000-queued batch, shared by its 9 batches, by 15 ms, a fifth of it."""
    sizes = sizes or ((2_000, 5_000) if quick else (10_000, 100_000))
    interval = 1 / RATE["listenbrainz"]
    _, one_wall, one_cpu, _ = _median_flush(1, work, 3)
    rows = [
        Row("flush", "listenbrainz, 1 queued: scrobctl CPU (the fixed part)", one_cpu, "s"),
    ]
    per_batch: dict[int, float] = {}
    for plays in sizes:
        requests, wall, cpu, _ = _median_flush(plays, work, 3 if plays == sizes[0] else 1)
        per_batch[plays] = (cpu - one_cpu) / max(requests - 1, 1)
        # the first batch goes at once, each later one an interval after the one before
        floor = one_wall + (requests - 1) * max(interval, LATENCY)
        rows.append(
            Row(
                "flush",
                f"listenbrainz, {plays:,} queued: scrobctl CPU a batch",
                per_batch[plays] * 1000,
                "ms",
                interval * 1000,
                "interval the rate allows",
                per_batch[plays] / interval,
                "< 1x",
                per_batch[plays] < interval,
            )
        )
        rows.append(
            Row(
                "flush",
                f"listenbrainz, {plays:,} queued: time ({requests:,} requests)",
                wall,
                "s",
                floor,
                "1 queued + requests / rate",
                wall / floor,
                "<= 1.2x",
                wall / floor <= 1.2,
            )
        )
    small = sizes[0]
    for big in sizes[1:]:
        rows.append(
            Row(
                "flush",
                f"CPU a batch, {big:,} against {small:,} queued",
                per_batch[big] * 1000,
                "ms",
                per_batch[small] * 1000,
                f"a batch with {small:,} queued",
                per_batch[big] / per_batch[small],
                "<= 1.2x",
                per_batch[big] / per_batch[small] <= 1.2,
            )
        )
    return rows


# -- import ------------------------------------------------------------------------------

# Peak RSS from VmHWM: ru_maxrss survives exec on Linux and would report the parent's size.
RSS_WRAPPER = (
    "import sys\n"
    "sys.argv = ['scrobctl'] + sys.argv[1:]\n"
    "from scrobctl.entry import main\n"
    "try:\n    main()\nexcept SystemExit:\n    pass\n"
    "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
    "print(hwm, file=sys.stderr)\n"
)


def _import(n: int, work: Path, name: str) -> tuple[float, int, int]:
    data = work / name
    with FakeListenBrainz(tokens={TOKEN: "rob"}, latency=LATENCY) as lb:
        lb.history_size = n
        env = fresh_env(data, SCROBCTL_LISTENBRAINZ__API_URL=lb.url)
        run([SCROBCTL, "login", "listenbrainz", "--token-stdin"], env, TOKEN + "\n")
        lb.requests.clear()
        started = time.perf_counter()
        done = run([PYTHON, "-c", RSS_WRAPPER, "import", "listenbrainz"], env)
        took = time.perf_counter() - started
        requests = len(lb.requests)
    rss_kb = int(done.stderr.strip().splitlines()[-1])
    return took, requests, rss_kb


def import_(quick: bool, work: Path) -> list[Row]:
    small, large = (1_000, 5_000) if quick else (20_000, 200_000)
    _, _, rss_small = _import(small, work, "import-small")
    took, requests, rss_large = _import(large, work, "import-large")
    # listen-count + the pages + one feedback page. ListenBrainz pages by whole seconds and its
    # max_ts is exclusive, so each page after the first asks again for the second its
    # predecessor ended on, to lose no listen sharing it (issue #12): it re-reads the listens of
    # that second (one here: the fake's listens are a minute apart), so a page brings 999 new.
    overlap = 1
    pages = 1 + math.ceil(max(0, large - 1000) / (1000 - overlap))
    minimum = pages + 2
    floor = max(minimum / RATE["listenbrainz"], minimum * LATENCY)
    growth = rss_large / rss_small
    return [
        Row(
            "import",
            f"requests for {large:,} listens",
            requests,
            "requests",
            minimum,
            "listen-count + pages (1 s overlap each) + feedback",
            requests / minimum,
            "= minimum",
            requests == minimum,
        ),
        Row(
            "import",
            f"time for {large:,} listens",
            took,
            "s",
            floor,
            "max(requests / rate, requests x latency)",
            took / floor,
            "<= 1.2x",
            took / floor <= 1.2,
        ),
        Row(
            "import",
            f"peak RSS at {small:,}",
            rss_small / 1024,
            "MB",
            None,
            "",
            None,
            "< 150 MB",
            rss_small / 1024 < 150,
        ),
        Row(
            "import",
            f"peak RSS at {large:,}",
            rss_large / 1024,
            "MB",
            rss_small / 1024,
            f"peak RSS at {small:,}",
            growth,
            "<= 1.10x and < 150 MB",
            growth <= 1.10 and rss_large / 1024 < 150,
        ),
    ]


# -- large archive -----------------------------------------------------------------------

# Bump when _build changes what it writes: archives cached under ARCHIVE_CACHE are keyed by it
# (and by the schema version), so an old one is never measured by mistake.
ARCHIVE_BUILDER = 4
ARCHIVE_CACHE = Path(tempfile.gettempdir()) / "scrobctl-bench-archives"
ARCHIVE_ITEMS = 50_000


def _build(data: Path, plays: int) -> None:
    """A heavy user's archive, as scrobctl leaves one: logged in to ListenBrainz, then `plays`
    plays of up to 50,000 tracks recorded from stdin and sent, so each play has its completed
    job and its per-service record, row for row what `scrobble` and `flush` write
    (store/pending.py, store/queue.py complete). Written by SQL because sending a million plays
    through the fake takes a quarter of an hour; no ANALYZE, since scrobctl never runs one."""
    with FakeListenBrainz(tokens={TOKEN: "rob"}) as lb:
        env = fresh_env(data, SCROBCTL_LISTENBRAINZ__API_URL=lb.url)
        run([SCROBCTL, "login", "listenbrainz", "--token-stdin"], env, TOKEN + "\n")
    conn = sqlite3.connect(data / "scrobctl.db")
    items = min(ARCHIVE_ITEMS, plays)
    start = 1_300_000_000
    recorded = time.time() + 1  # after the login: these plays were routed at ingest
    with conn:
        conn.executemany(
            "INSERT INTO items (id, kind, title, artist, album, duration_ms, weak_key,"
            " created_at) VALUES (?, 'track', ?, ?, ?, 200000, ?, ?)",
            (
                (
                    i,
                    f"Track {i}",
                    f"Artist {i % 997}",
                    f"Album {i % 4001}",
                    f"artist {i % 997}\x1ftrack {i}\x1falbum {i % 4001}",
                    recorded,
                )
                for i in range(1, items + 1)
            ),
        )
        conn.executemany(
            "INSERT INTO plays (id, profile, item_id, watched_at, duration_ms, played_ms,"
            " source, created_at) VALUES (?, 'default', ?, ?, 200000, 150000, 'stdin', ?)",
            ((i, 1 + i % items, start + i * 240, recorded) for i in range(1, plays + 1)),
        )
        conn.executemany(
            "INSERT INTO jobs (kind, service, profile, play_id, state, attempt, max_attempts,"
            " scheduled_at, created_at, attempted_at, finished_at, outcome, errors, unique_key,"
            " played_at) VALUES ('scrobble', 'listenbrainz', 'default', ?, 'completed', 1, 10,"
            " ?, ?, ?, ?, 'sent', '[]', ?, ?)",
            (
                (
                    i,
                    recorded,
                    recorded,
                    recorded,
                    recorded,
                    f"scrobble:listenbrainz:{i}",
                    start + i * 240,
                )
                for i in range(1, plays + 1)
            ),
        )
        conn.executemany(
            "INSERT INTO scrobbles (profile, service, item_id, scrobbled_at, source, recorded_at)"
            " VALUES ('default', 'listenbrainz', ?, ?, 'sent', ?)",
            ((1 + i % items, start + i * 240, recorded) for i in range(1, plays + 1)),
        )
    conn.close()


def _archive_copy(plays: int, into: Path) -> Path:
    """A copy of the cached archive of `plays` plays (built once, under ARCHIVE_CACHE), to be
    changed by the commands measured on it."""
    from scrobctl.store.migrations import MIGRATIONS

    key = f"builder{ARCHIVE_BUILDER}-schema{len(MIGRATIONS)}-{plays}"
    cached = ARCHIVE_CACHE / key
    if not (cached / "built").exists():
        building = ARCHIVE_CACHE / f"{key}.building-{os.getpid()}"
        shutil.rmtree(building, ignore_errors=True)
        started = time.perf_counter()
        _build(building, plays)
        (building / "built").write_text(f"{time.perf_counter() - started:.1f} s\n")
        shutil.rmtree(cached, ignore_errors=True)
        building.rename(cached)
    shutil.rmtree(into, ignore_errors=True)
    shutil.copytree(cached, into)
    return into


def _timed(cmd: list[str], env: dict[str, str], stdin: str | None = None) -> tuple[float, float]:
    """Wall-clock and CPU seconds (user + system) of one run of a child."""
    before = _child_cpu()
    started = time.perf_counter()
    subprocess.run(cmd, input=stdin, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    return wall, _child_cpu() - before


# The commands people and scripts run many times a day (issue #25): each must take at most
# 1.5x `import typer` on a small archive and at most 1.2x that on a 1,000,000-play one.
EVERYDAY: list[tuple[str, list[str]]] = [
    ("--help", ["--help"]),
    ("status", ["status"]),
    ("status --json", ["status", "--json"]),
    ("history --limit 50", ["history", "--limit", "50"]),
    ("history --limit 1000", ["history", "--limit", "1000"]),
    ("queue list", ["queue", "list"]),
    ("doctor", ["doctor"]),
    ("one piped event", ["scrobble"]),
    ("explain PLAY", ["explain", "1"]),
    ("stats", ["stats"]),
    ("stats --json", ["stats", "--json"]),
    ("stats --type track --since 2w", ["stats", "--type", "track", "--since", "2w"]),
]


SMALL_ARCHIVE = 1_000  # plays: each command has something to show
FLOOR_NAMES = {"typer": "import typer", "small": f"same, {SMALL_ARCHIVE:,} plays"}


def _beside(
    label: str, wall: dict[str, float], cpu: dict[str, float], of: str, floor: str, limit: float
) -> Row:
    """A command's median on archive `of` against `floor` (`import typer`, or the small archive
    run beside it), wall-clock ratio marked against `limit`, CPU ratio beside it."""
    ratio = wall[of] / wall[floor]
    return Row(
        "archive",
        label,
        wall[of] * 1000,
        "ms",
        wall[floor] * 1000,
        FLOOR_NAMES[floor],
        ratio,
        f"<= {limit}x",
        ratio <= limit,
        cpu[of] / cpu[floor],
    )


def archive(quick: bool, work: Path, plays: int | None = None) -> list[Row]:
    """Every everyday command on a small archive (1,000 plays: each command has something to
    show, `history --limit 1000` as many rows as on the large one) beside `import typer`, and on
    the large archive beside the small one; each run of the three side by side, so a change in
    the machine's load moves all three. Medians of wall-clock time; the CPU-time ratios
    (user + system of the child) beside them are steadier on a shared machine."""
    plays = plays or (5_000 if quick else 1_000_000)
    small = SMALL_ARCHIVE
    runs = 3 if quick else 11
    now = int(time.time())
    load = os.getloadavg()[0]
    dirs = {"small": _archive_copy(small, work / "archive-small")}
    dirs["full"] = _archive_copy(plays, work / "archive-full")
    envs = {label: fresh_env(data) for label, data in dirs.items()}
    # a one-off: the first stats counts every play into its totals
    first = {label: _timed([SCROBCTL, "stats"], env)[0] for label, env in envs.items()}
    out: list[Row] = []
    for name, args in EVERYDAY:
        times: dict[str, list[tuple[float, float]]] = {"typer": [], "small": [], "full": []}
        for i in range(runs):
            times["typer"].append(_timed([PYTHON, "-c", "import typer"], envs["small"]))
            for label, env in envs.items():
                event = track_event(10**7 + i, now - i * 300) + "\n"
                stdin = event if args == ["scrobble"] else None
                times[label].append(_timed([SCROBCTL, *args], env, stdin))
        wall = {k: statistics.median(t for t, _ in v) for k, v in times.items()}
        cpu = {k: statistics.median(c for _, c in v) for k, v in times.items()}

        out.append(_beside(f"{name} ({small:,} plays)", wall, cpu, "small", "typer", 1.5))
        out.append(_beside(f"{name} ({plays:,} plays)", wall, cpu, "full", "small", 1.2))
    out.append(
        Row(
            "archive",
            f"stats, first run ({plays:,} plays; builds its totals, once)",
            first["full"] * 1000,
            "ms",
            first["small"] * 1000,
            f"same, {small:,} plays",
            first["full"] / first["small"],
            "(once per archive)",
        )
    )
    out.append(Row("archive", "load average (1 min), start / end", load, "", os.getloadavg()[0]))
    return out


# -- export files -----------------------------------------------------------------------


def _files_run(zipped: Path, data: Path) -> tuple[float, int, str, float]:
    """Seconds, peak RSS (kB), the summary and the CPU seconds (user + system) of one
    `import --file`. CPU time is the steadier figure on a machine shared with other work."""
    env = fresh_env(data)
    before = _child_cpu()
    started = time.perf_counter()
    done = run([PYTHON, "-c", RSS_WRAPPER, "import", "--file", str(zipped)], env)
    took = time.perf_counter() - started
    cpu = _child_cpu() - before
    lines = done.stderr.strip().splitlines()
    summary = next((line for line in lines if line.startswith("import: ")), "")
    return took, int(lines[-1]), summary, cpu


def _read_rows(zipped: Path) -> float:
    """Seconds to read the zip's history members and decode them with the json module: what
    any importer of these files must do before it looks at a row."""
    import zipfile

    started = time.perf_counter()
    with zipfile.ZipFile(zipped) as archive:
        for name in archive.namelist():
            if "Streaming_History_Audio" in name:
                json.loads(archive.read(name))
    return time.perf_counter() - started


def files(quick: bool, work: Path) -> list[Row]:
    """issue #20: a Spotify extended history of 300,000 rows in one zip (tests/exports/spotify.py
    writes it from the documented format: podcasts, short skips, incognito plays, repeats)."""
    from tests.exports.spotify import history, write_zip

    n, small = (6_000, 1_500) if quick else (300_000, 30_000)
    rows, expected = history(n)
    zipped = write_zip(work / "spotify-large.zip", rows)
    small_zip = write_zip(work / "spotify-small.zip", history(small)[0])
    _, rss_small, _, _ = _files_run(small_zip, work / "files-small")
    data = work / "files-large"
    took, rss, summary, cpu = _files_run(zipped, data)
    again, _, summary_again, _ = _files_run(zipped, data)  # the same zip on the same archive
    started_cpu = time.process_time()
    read = _read_rows(zipped)
    read_cpu = time.process_time() - started_cpu
    write, _ = _write_same_rows(data / "scrobctl.db", work / "files-floor.db", ("items", "plays"))
    floor = n / (read + write)
    rate = n / took
    # The whole first summary as the rows imply it (tests/exports/spotify.py `Expected`), and a
    # second import that adds nothing: every play a duplicate.
    skipped = expected.incognito + expected.repeats
    counts_ok = (
        f"import: {n} rows read, added {expected.plays} plays and 0 ratings, duplicates 0,"
        f" below threshold {expected.below}, skipped {skipped}, unmatched 0, unreadable 0"
    ) in summary and (f"added 0 plays and 0 ratings, duplicates {expected.plays}," in summary_again)
    return [
        Row(
            "files",
            f"import --file, {n:,}-row Spotify zip",
            rate,
            "rows/s",
            floor,
            "json.loads of its members, then its rows by executemany",
            rate / floor,
            ">= 20,000 rows/s",
            rate >= 20_000,
        ),
        Row(
            "files",
            "the same, rows per CPU second (user + system)",
            n / cpu,
            "rows/s",
            n / (read_cpu + write),
            "the floor, per CPU second",
            (n / cpu) / (n / (read_cpu + write)),
            ">= 20,000 rows/s",
            n / cpu >= 20_000,
        ),
        Row("files", "the same zip again (all duplicates)", n / again, "rows/s"),
        Row(
            "files",
            f"peak RSS at {n:,} rows",
            rss / 1024,
            "MB",
            rss_small / 1024,
            f"peak RSS at {small:,} rows",
            rss / rss_small,
            "< 150 MB, flat in rows",
            rss / 1024 < 150,
        ),
        Row(
            "files",
            "plays added (first / second import)",
            expected.plays,
            "plays",
            None,
            "",
            None,
            "as the rows imply / 0",
            counts_ok,
        ),
    ]


def _match_all(sources: int, targets: int) -> tuple[float, int]:
    """Seconds to index `targets` plays and match `sources` against them (sync's plan), and
    how many matched. Every fourth source play is on the target, written differently."""
    from scrobctl.sync.matching import Play, TargetIndex, fold, music_key

    fold.cache_clear()  # a warm cache from the last run would flatter the next one
    music_key.cache_clear()

    def play(i: int, origin: str, shout: bool) -> Play:
        artist, title = f"Artist {i % 300}", f"Track {i % 1500}"
        if shout:
            artist, title = artist.upper(), f"{title} (feat. Guest)"
        else:
            artist += " feat. Guest"
        return Play(i, "track", 1_600_000_000 + i * 180, i, origin, {}, artist=artist, title=title)

    step = max(1, sources // targets)
    started = time.perf_counter()
    index = TargetIndex(play(i, "listenbrainz", True) for i in range(0, sources, step))
    found = sum(index.match(play(i, "lastfm", False)) is not None for i in range(sources))
    return time.perf_counter() - started, found


def sync_matching(quick: bool, work: Path) -> list[Row]:
    """issue #21: sync's matching of a 20,000-play source against a 5,000-play target must not
    be quadratic: the same at twice the size takes about twice as long (4x if it were)."""
    n = 4_000 if quick else 20_000
    # The best of three runs: the figure least disturbed by other work on the machine.
    took, found = min(_match_all(n, n // 4) for _ in range(3))
    took2 = min(_match_all(2 * n, n // 2)[0] for _ in range(3))
    floor_started = time.perf_counter()
    keys = {f"k{i}": i for i in range(0, n, 4)}  # one dict look-up per play: the least it takes
    sum(f"k{i}" in keys for i in range(n))
    floor = time.perf_counter() - floor_started
    return [
        Row(
            "sync",
            f"match {n:,} plays against {n // 4:,}",
            n / took,
            "plays/s",
            n / floor,
            "one dict look-up per play",
            floor / took,
            f"all {n // 4:,} found",
            found == n // 4,
        ),
        Row(
            "sync",
            "twice the plays on both sides: time ratio",
            took2 / took,
            "x",
            2.0,
            "linear",
            (took2 / took) / 2.0,
            "about 2 (quadratic: 4)",
            took2 / took < 3.0,
        ),
    ]


SECTIONS = {
    "startup": startup,
    "ingest": ingest,
    "flush": flush,
    "import": import_,
    "archive": archive,
    "files": files,
    "sync": sync_matching,
}


def render(rows: list[Row]) -> str:
    lines = [f"{'figure':58} {'value':>12} {'floor':>12} {'ratio':>7} {'cpu':>7}  target"]
    section = None
    for r in rows:
        if r.section != section:
            section = r.section
            lines.append(f"-- {section}")
        value = f"{r.value:,.1f} {r.unit}" if r.unit != "requests" else f"{r.value:,.0f}"
        floor = (
            ""
            if r.floor is None
            else (f"{r.floor:,.1f}" if r.unit != "requests" else f"{r.floor:,.0f}")
        )
        ratio = "" if r.ratio is None else f"{r.ratio:.2f}x"
        cpu = "" if r.cpu_ratio is None else f"{r.cpu_ratio:.2f}x"
        mark = {True: "ok", False: "MISSED", None: ""}[r.met]
        lines.append(
            f"{r.name:58} {value:>12} {floor:>12} {ratio:>7} {cpu:>7}  {r.target} {mark}".rstrip()
        )
    return "\n".join(lines)


def _number(value: float, unit: str) -> str:
    if unit in ("ms", "s", "MB") and value < 100:
        return f"{value:,.1f}"
    return f"{value:,.0f}"


TIMES = "\u00d7"  # the multiplication sign of the README's tables


def markdown(rows: list[Row], machine: dict[str, object]) -> str:
    """The README's table, from this run (what `--markdown` prints)."""
    lines = [
        f"Run of {machine['date']} ({machine['platform']}, {machine['cpus']} CPUs, Python"
        f" {machine['python']}; load average {machine['load']}):",
        "",
        "| figure | value | floor | ratio (wall / CPU) | target |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        value = f"{_number(r.value, r.unit)} {r.unit}".strip()
        floor = "" if r.floor is None else f"{r.floor_name}: {_number(r.floor, r.unit)}"
        ratio = "" if r.ratio is None else f"{r.ratio:.2f}{TIMES}"
        if r.cpu_ratio is not None:
            ratio += f" / {r.cpu_ratio:.2f}{TIMES}"
        mark = {True: " ✓", False: " ✗", None: ""}[r.met]
        target = r.target.replace("<=", "≤").replace(">=", "≥").replace("x", TIMES)
        lines.append(f"| {r.name} | {value} | {floor} | {ratio} | {target}{mark} |")
    return "\n".join(lines)


def byte_compile() -> None:
    """Compile scrobctl's modules, as `pip install` does and as Python itself does on a
    module's first import, unless PYTHONDONTWRITEBYTECODE is set (as on this project's shared
    machine): without it every measured run compiled each scrobctl module it imported from
    source (10-30 ms a command, issue #25), a cost no installed scrobctl pays, beside the floor,
    `import typer`, which loads Typer's compiled files."""
    import compileall

    import scrobctl

    compileall.compile_dir(Path(scrobctl.__file__).parent, quiet=1)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds, for CI)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--markdown", action="store_true", help="print the README's table")
    parser.add_argument("--only", default=",".join(SECTIONS), help="sections, comma-separated")
    parser.add_argument(
        "--archive-plays",
        type=int,
        default=None,
        help="plays in the large archive (default 1,000,000; --quick 5,000); built once and"
        f" cached under {ARCHIVE_CACHE}",
    )
    parser.add_argument(
        "--flush-queued",
        default="",
        help="queue sizes whose flush is measured batch by batch, comma-separated (default"
        " 10000,100000; --quick 2000,5000)",
    )
    parser.add_argument(
        "--floor-process",
        nargs=4,
        metavar=("MODE", "SOURCE", "TARGET", "EVENTS"),
        help=argparse.SUPPRESS,  # the ingest floor whose instructions are counted: all | setup
    )
    args = parser.parse_args()
    if args.floor_process:
        mode, source, target, events = args.floor_process
        floor_process(mode == "setup", Path(source), Path(target), Path(events))
    queued = tuple(int(n) for n in args.flush_queued.split(",") if n)
    byte_compile()
    loads = [os.getloadavg()[0]]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="scrobctl-bench-") as tmp:
        for name in args.only.split(","):
            section = SECTIONS[name.strip()]
            if section is archive:
                rows.extend(archive(args.quick, Path(tmp), args.archive_plays))
            elif section is flush:
                rows.extend(flush(args.quick, Path(tmp), queued))
            else:
                rows.extend(section(args.quick, Path(tmp)))
            loads.append(os.getloadavg()[0])
    machine = {
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "cpus": os.cpu_count(),
        "quick": args.quick,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load": f"{min(loads):.1f}-{max(loads):.1f}",
    }
    if args.json:
        print(json.dumps({"machine": machine, "figures": [asdict(r) for r in rows]}, indent=2))
    elif args.markdown:
        print(markdown(rows, machine))
    else:
        print(
            f"# {machine['platform']}, {machine['cpus']} CPUs, Python {machine['python']},"
            f" load average {machine['load']}" + (" (quick sizes)" if args.quick else "")
        )
        print(render(rows))


if __name__ == "__main__":
    main()
