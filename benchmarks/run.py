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
import json
import math
import os
import platform
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
    env.update(
        SCROBCTL_DATA_DIR=str(data),
        SCROBCTL_CONFIG=str(data / "config.toml"),
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
    now = int(time.time())
    floor_pass = median_time([PYTHON, "-c", "pass"], env, runs)
    floor_typer = median_time([PYTHON, "-c", "import typer"], env, runs)
    rows = [
        Row("startup", "python -c pass", floor_pass * 1000, "ms"),
        Row("startup", "python -c 'import typer'", floor_typer * 1000, "ms"),
    ]
    cases: list[tuple[str, list[str], Callable[[int], str] | None, float | None]] = [
        ("scrobctl --version", [SCROBCTL, "--version"], None, 1.2),
        ("scrobctl flush (empty queue)", [SCROBCTL, "flush"], None, 1.5),
        ("scrobctl status", [SCROBCTL, "status"], None, None),
        (
            "one event | scrobctl scrobble",
            [SCROBCTL, "scrobble"],
            lambda i: track_event(i, now - 1000 + i) + "\n",
            None,
        ),
    ]
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
    n, runs = (2_000, 1) if quick else (100_000, 3)
    logged_in = work / "ingest"
    with FakeListenBrainz(tokens={TOKEN: "rob"}) as lb:
        env = fresh_env(logged_in, SCROBCTL_LISTENBRAINZ__API_URL=lb.url)
        run([SCROBCTL, "login", "listenbrainz", "--token-stdin"], env, TOKEN + "\n")
    now = int(time.time())
    events = "\n".join(track_event(i, now - n * 60 + i * 60) for i in range(n)) + "\n"
    times, floors = [], []
    for i in range(runs):  # each run on a fresh copy of the logged-in data folder
        data = work / f"ingest-{i}"
        shutil.copytree(logged_in, data)
        env = fresh_env(data, SCROBCTL_LISTENBRAINZ__API_URL="http://127.0.0.1:9")
        started = time.perf_counter()
        run([SCROBCTL, "scrobble"], env, events)
        times.append(time.perf_counter() - started)
        floors.append(_write_same_rows(data / "scrobctl.db", work / f"floor-{i}.db"))
    rate = n / statistics.median(times)
    floor = n / statistics.median(floors)
    parsed = n / statistics.median(_parse(events) for _ in range(runs))
    both = 1 / (1 / parsed + 1 / floor)  # one after the other, as one process must
    return [
        Row(
            "ingest",
            f"{n:,} events piped to scrobble",
            rate,
            "events/s",
            floor,
            "its rows by sqlite3.executemany, one transaction",
            rate / floor,
            ">= 20,000 events/s",
            rate >= 20_000,
        ),
        Row("ingest", "the same lines parsed by the event model", parsed, "events/s"),
        Row(
            "ingest",
            "parsing, then that executemany",
            both,
            "events/s",
            None,
            "",
            rate / both,
            "(ratio: the piped rate to this)",
        ),
    ]


def _parse(text: str) -> float:
    """Seconds for scrobctl's stdin model to read the lines, with no database at all."""
    from scrobctl.scrobble.events import read_events

    started = time.perf_counter()
    for _ in read_events(io.BytesIO(text.encode())):
        pass
    return time.perf_counter() - started


def _write_same_rows(source: Path, target: Path, tables: tuple[str, ...] | None = None) -> float:
    """Seconds to write the items, plays and jobs the run wrote into an empty database with
    scrobctl's schema (indexes included), by plain executemany in one transaction."""
    from scrobctl.store import open_store

    open_store(target).close()
    src = sqlite3.connect(source)
    rows_of = {name: src.execute(f"SELECT * FROM {name}").fetchall() for name in tables or TABLES}
    src.close()
    conn = sqlite3.connect(target, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = NORMAL")
    started = time.perf_counter()
    conn.execute("BEGIN")
    for name, rows in rows_of.items():
        marks = ", ".join("?" * len(rows[0]))
        conn.executemany(f"INSERT INTO {name} VALUES ({marks})", rows)
    conn.execute("COMMIT")
    took = time.perf_counter() - started
    conn.close()
    return took


TABLES = ("items", "plays", "jobs")  # in the order their foreign keys need


# -- flush -------------------------------------------------------------------------------


def _login_all(env: dict[str, str]) -> None:
    run([SCROBCTL, "login", "listenbrainz", "--token-stdin"], env, TOKEN + "\n")
    for service in ("trakt", "simkl", "lastfm"):
        run([SCROBCTL, "login", service, "--no-browser"], env)


def flush(quick: bool, work: Path) -> list[Row]:
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
    # listen-count + one page per 1000 listens + one feedback page
    minimum = math.ceil(large / 1000) + 2
    floor = max(minimum / RATE["listenbrainz"], minimum * LATENCY)
    growth = rss_large / rss_small
    return [
        Row(
            "import",
            f"requests for {large:,} listens",
            requests,
            "requests",
            minimum,
            "listen-count + pages + feedback",
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


def _fill(data: Path, plays: int, env: dict[str, str]) -> None:
    """A heavy user's archive: plays of 50,000 tracks, each known to a service and sent."""
    run([SCROBCTL, "status"], env)
    conn = sqlite3.connect(data / "scrobctl.db")
    items = min(50_000, plays)
    start = 1_300_000_000
    with conn:
        conn.executemany(
            "INSERT INTO items (id, kind, title, artist, album, weak_key, created_at)"
            " VALUES (?, 'track', ?, ?, ?, ?, 0)",
            (
                (
                    i,
                    f"Track {i}",
                    f"Artist {i % 997}",
                    f"Album {i % 4001}",
                    f"artist {i % 997}\x1ftrack {i}\x1falbum {i % 4001}",
                )
                for i in range(1, items + 1)
            ),
        )
        conn.executemany(
            "INSERT INTO plays (id, profile, item_id, watched_at, duration_ms, source, created_at)"
            " VALUES (?, 'default', ?, ?, 200000, 'stdin', 0)",
            ((i, 1 + i % items, start + i * 60) for i in range(1, plays + 1)),
        )
        conn.executemany(
            "INSERT INTO scrobbles (profile, service, item_id, scrobbled_at, source, recorded_at)"
            " VALUES ('default', 'listenbrainz', ?, ?, 'sent', 0)",
            ((1 + i % items, start + i * 60) for i in range(1, plays + 1)),
        )
        conn.executemany(
            "INSERT INTO jobs (kind, service, profile, play_id, state, attempt, max_attempts,"
            " scheduled_at, created_at, finished_at, outcome, errors, unique_key)"
            " VALUES ('scrobble', 'listenbrainz', 'default', ?, 'completed', 1, 10, 0, 0, 0,"
            " 'sent', '[]', ?)",
            ((i, f"scrobble:listenbrainz:{i}") for i in range(1, plays + 1)),
        )
    conn.execute("ANALYZE")
    conn.close()


def archive(quick: bool, work: Path) -> list[Row]:
    plays = 5_000 if quick else 1_000_000
    runs = 3 if quick else 11
    now = int(time.time())
    figures = {}
    for label, size in (("empty", 0), ("full", plays)):
        data = work / f"archive-{label}"
        env = fresh_env(data)
        _fill(data, size, env)
        # The first stats run counts every play into the running totals; later runs add only
        # what is new (store/stats.py).
        first_stats = median_time([SCROBCTL, "stats"], env, 1)
        figures[label] = {
            "stats, first run (builds its totals)": first_stats,
            "status": median_time([SCROBCTL, "status"], env, runs),
            "history --limit 50": median_time([SCROBCTL, "history", "--limit", "50"], env, runs),
            "one piped event": median_time(
                [SCROBCTL, "scrobble"],
                env,
                runs,
                lambda i: track_event(10**7 + i, now - i * 300) + "\n",
            ),
            # issue #24: stats answers in under 2x an empty archive's time
            "stats": median_time([SCROBCTL, "stats"], env, runs),
            "stats --json": median_time([SCROBCTL, "stats", "--json"], env, runs),
            "stats --type track --since 2w": median_time(
                [SCROBCTL, "stats", "--type", "track", "--since", "2w"], env, runs
            ),
        }
    rows = []
    for name in figures["full"]:
        limit = 2.0 if name.startswith("stats") else 1.5
        ratio = figures["full"][name] / figures["empty"][name]
        once = name.startswith("stats, first run")  # a one-off, shown beside the target
        rows.append(
            Row(
                "archive",
                f"{name} with {plays:,} plays",
                figures["full"][name] * 1000,
                "ms",
                figures["empty"][name] * 1000,
                "same on an empty database",
                ratio,
                "(once per archive)" if once else f"<= {limit:g}x",
                None if once else ratio <= limit,
            )
        )
    return rows


# -- export files -----------------------------------------------------------------------


def _files_run(zipped: Path, data: Path) -> tuple[float, int, str, float]:
    """Seconds, peak RSS (kB), the summary and the CPU seconds (user + system) of one
    `import --file`. CPU time is the steadier figure on a machine shared with other work."""
    import resource

    env = fresh_env(data)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = run([PYTHON, "-c", RSS_WRAPPER, "import", "--file", str(zipped)], env)
    took = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
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
    write = _write_same_rows(data / "scrobctl.db", work / "files-floor.db", ("items", "plays"))
    floor = n / (read + write)
    rate = n / took
    counts_ok = f"added {expected.plays} plays" in summary and "added 0 plays" in summary_again
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
    lines = [f"{'figure':52} {'value':>12} {'floor':>12} {'ratio':>7}  target"]
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
        mark = {True: "ok", False: "MISSED", None: ""}[r.met]
        lines.append(f"{r.name:52} {value:>12} {floor:>12} {ratio:>7}  {r.target} {mark}".rstrip())
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds, for CI)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--only", default=",".join(SECTIONS), help="sections, comma-separated")
    args = parser.parse_args()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="scrobctl-bench-") as tmp:
        for name in args.only.split(","):
            rows.extend(SECTIONS[name.strip()](args.quick, Path(tmp)))
    machine = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "quick": args.quick,
    }
    if args.json:
        print(json.dumps({"machine": machine, "figures": [asdict(r) for r in rows]}, indent=2))
    else:
        print(
            f"# {machine['platform']}, {machine['cpus']} CPUs, Python {machine['python']}"
            + (" (quick sizes)" if args.quick else "")
        )
        print(render(rows))


if __name__ == "__main__":
    main()
