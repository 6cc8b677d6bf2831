"""Shared fixtures: every test gets its own data dir, config path and a clean SCROBCTL_* env."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import respx

from scrobctl.clock import Clock

if TYPE_CHECKING:
    import httpx

    from scrobctl.runtime import Runtime


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point every directory at tmp_path and drop any SCROBCTL_* from the outer environment."""
    for key in list(os.environ):
        if key.startswith("SCROBCTL_"):
            monkeypatch.delenv(key)
    data = tmp_path / "data"
    monkeypatch.setenv("SCROBCTL_DATA_DIR", str(data))
    # An empty config file: one SCROBCTL_CONFIG names that does not exist is warned about.
    config = tmp_path / "config.toml"
    config.touch()
    monkeypatch.setenv("SCROBCTL_CONFIG", str(config))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    # No test may reach a real keyring by accident; keyring tests set their own backend.
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    return data


class FakeClock(Clock):
    """A clock whose sleeps advance time instantly, and record how long was slept."""

    def __init__(self, start: float = 1_795_000_000.0) -> None:
        self.t = start
        self.slept: list[float] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.slept.append(seconds)
            self.t += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def data_dir(isolated_env: Path) -> Path:
    return isolated_env


@pytest.fixture
def store(data_dir: Path) -> Iterator:
    from scrobctl.store import open_store

    s = open_store(data_dir / "scrobctl.db")
    yield s
    s.close()


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    """respx in place of the services' APIs; a route set up but never called is no failure."""
    with respx.mock(assert_all_called=False) as router:
        yield router


def _service_api(base_url: str) -> Callable[[], Iterator[respx.MockRouter]]:
    """A fixture: respx in place of one service, its routes relative to `base_url`."""

    def fixture() -> Iterator[respx.MockRouter]:
        with respx.mock(base_url=base_url, assert_all_called=False) as router:
            yield router

    fixture.__doc__ = f"respx in place of {base_url}; a route never called is no failure."
    return pytest.fixture(fixture)


simkl_api = _service_api("https://api.simkl.com")
listenbrainz_api = _service_api("https://api.listenbrainz.org")
tmdb_api = _service_api("https://api.themoviedb.org")


@pytest.fixture
def made(isolated_env: Path) -> Iterator[list[Runtime]]:
    """The runtimes a test builds by hand (one per service), closed when it ends."""
    runtimes: list[Runtime] = []
    yield runtimes
    for runtime in runtimes:
        runtime.close()


# -- runtimes named for the situation they stand for ---------------------------------------------


@pytest.fixture
def no_logins(isolated_env: Path, clock: FakeClock, made: list[Runtime]) -> Runtime:
    """A first run: no API app configured, no login; unpaced, respx-interceptable HTTP."""
    from tests.helpers import make_runtime

    made.append(make_runtime(isolated_env, clock))
    return made[-1]


@pytest.fixture
def apps_configured(isolated_env: Path, clock: FakeClock, made: list[Runtime]) -> Runtime:
    """Every service's API app in the settings, no login yet."""
    from tests.helpers import APPS, SIMKL_CLIENT_ID, make_runtime

    simkl = {"client_id": SIMKL_CLIENT_ID}
    made.append(make_runtime(isolated_env, clock, **APPS, simkl=simkl))
    return made[-1]


def _logged_in(*services: str, doc: str) -> Callable[..., Runtime]:
    """A fixture: a runtime with the API apps in the settings, logged in to `services`."""

    def fixture(isolated_env: Path, clock: FakeClock, made: list[Runtime]) -> Runtime:
        from tests.helpers import logged_in

        made.append(logged_in(isolated_env, clock, *services))
        return made[-1]

    fixture.__doc__ = doc
    return pytest.fixture(fixture)


logged_in_trakt = _logged_in("trakt", doc="Logged in to Trakt a moment ago (no refresh due).")
logged_in_simkl = _logged_in(
    "simkl", doc="Logged in to Simkl; the app's client id in the token store's \"@app\" entry."
)
logged_in_lastfm = _logged_in(
    "lastfm", doc="Logged in to Last.fm, the API account in the settings."
)
logged_in_listenbrainz = _logged_in("listenbrainz", doc="Logged in to ListenBrainz.")
logged_in_everywhere = _logged_in(
    "trakt",
    "simkl",
    "lastfm",
    "listenbrainz",
    doc="Logged in to all four services a moment ago (no Trakt refresh due).",
)


# -- cassettes ----------------------------------------------------------------------------------


@pytest.fixture
def live_clock(clock: FakeClock) -> Clock:
    """The fake clock for replaying cassettes; the real one when recording them (a person
    approves a login, Last.fm refuses plays older than 14 days, an import ends "now")."""
    from tests.recording import RECORDING

    return Clock() if RECORDING else clock


@pytest.fixture
def live_runtime(
    isolated_env: Path, live_clock: Clock, made: list[Runtime]
) -> Callable[..., Runtime]:
    """Builds runtimes on the live clock with the production HTTP client (or `http_client`) and
    the API apps given, closed when the test ends."""
    from scrobctl.http import make_client
    from tests.helpers import make_runtime

    def build(http_client: Callable[[], httpx.AsyncClient] = make_client, **apps: Any) -> Runtime:
        runtime = make_runtime(isolated_env, live_clock, http_client, **apps)
        made.append(runtime)
        return runtime

    return build


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `realtime(seconds)` spend minutes waiting on a real player playing in real
    time. Under xdist's worksteal, each worker starts with one contiguous share of the
    collection; putting these tests at the head of the shares, longest first and spread by
    their length, starts them all at once instead of one after another on one worker. Every
    worker reorders the same collection the same way, as xdist requires."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    slow = [item for item in items if item.get_closest_marker("realtime")]
    if workers < 2 or not slow:
        return
    rest = [item for item in items if not item.get_closest_marker("realtime")]
    slow.sort(key=lambda item: -item.get_closest_marker("realtime").args[0])
    heads: list[list[pytest.Item]] = [[] for _ in range(workers)]
    load = [0.0] * workers
    for item in slow:
        w = load.index(min(load))
        heads[w].append(item)
        load[w] += item.get_closest_marker("realtime").args[0]
    ordered: list[pytest.Item] = []
    remaining = len(items)
    for w in range(workers):
        share = remaining // (workers - w)  # the share worksteal's first schedule sends
        remaining -= share
        take = max(0, share - len(heads[w]))
        ordered += heads[w] + rest[:take]
        rest = rest[take:]
    items[:] = ordered + rest
