"""End to end: the token store is a fact about one run, never about the account (issue 17).

The installed scrobctl runs against the fakes with a real keyring: gnome-keyring's Secret Service
on a private D-Bus session (tests/secret_service.py). A cron run with `SCROBCTL_TOKEN_STORE=file`
must not break the keyring's logins; `tokens migrate` moves logins and API apps between stores;
keyring entries belong to one data folder; status and doctor look the token up.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import (
    GOOD_TOKEN,
    TIMEOUT,
    fake_service_env,
    jsonl,
    track_events,
    unique,
)
from tests.fakes.lastfm import FakeLastfm
from tests.fakes.listenbrainz import FakeListenBrainz
from tests.fakes.simkl import FakeSimkl
from tests.fakes.trakt import FakeTrakt
from tests.helpers import json_data
from tests.secret_service import running_secret_service

Run = Callable[..., subprocess.CompletedProcess[str]]
MOVIE = {
    "type": "movie",
    "title": "The Matrix",
    "year": 1999,
    "percentage": 95,
    "duration_ms": 8_160_000,
    "ids": {"tmdb": 603},
}


@pytest.fixture(scope="module")
def keyring_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """One gnome-keyring for the module; each test's data folder scopes its own entries."""
    with running_secret_service(tmp_path_factory.mktemp("keyring-home")) as env:
        yield env


@pytest.fixture
def fakes() -> Iterator[dict[str, object]]:
    trakt = FakeTrakt(client_id=unique("trakt-id"), client_secret=unique("trakt-secret"))
    trakt.poll_statuses = [200]
    simkl = FakeSimkl(client_id=unique("simkl-id"), user_name="rob", interval=1)
    lastfm = FakeLastfm(
        api_key=unique("lastfm-key"), api_secret=unique("lastfm-secret"), auto_approve_after=1
    )
    lb = FakeListenBrainz()
    for fake in (trakt, simkl, lastfm, lb):
        fake.start()
    try:
        yield {"trakt": trakt, "simkl": simkl, "lastfm": lastfm, "listenbrainz": lb}
    finally:
        for fake in (trakt, simkl, lastfm, lb):
            fake.stop()


@pytest.fixture
def run(scrobctl_bin: Path, keyring_env: dict[str, str], fakes: dict[str, object]) -> Run:
    """scrobctl with the real keyring reachable; `store` picks SCROBCTL_TOKEN_STORE, `apps`
    whether the API apps come from the environment, `extra` overrides anything."""
    base = dict(os.environ)
    base.pop("PYTHON_KEYRING_BACKEND", None)
    base.pop("SCROBCTL_DEBUG", None)
    base.update(keyring_env)
    base.update(fake_service_env(**fakes_for_env(fakes)))
    base["SCROBCTL_LISTENBRAINZ__API_URL"] = fakes["listenbrainz"].url  # type: ignore[attr-defined]

    def go(
        *args: str,
        store: str = "keyring",
        apps: bool = True,
        input: str = "",
        extra: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        env = {**base, "SCROBCTL_TOKEN_STORE": store, **(extra or {})}
        if not apps:
            for key in list(env):
                if key.endswith(("__CLIENT_ID", "__CLIENT_SECRET", "__API_KEY", "__API_SECRET")):
                    del env[key]
        return subprocess.run(
            [str(scrobctl_bin), *args],
            input=input,
            capture_output=True,
            text=True,
            env=env,
            timeout=TIMEOUT,
            check=False,
        )

    return go


def fakes_for_env(fakes: dict[str, object]) -> dict[str, object]:
    return {k: fakes[k] for k in ("trakt", "simkl", "lastfm")}


def log_in(run: Run, service: str, store: str = "keyring") -> None:
    if service == "listenbrainz":
        result = run("login", service, "--token-stdin", store=store, input=GOOD_TOKEN + "\n")
    else:
        result = run("login", service, "--no-browser", store=store)
    assert result.returncode == 0, f"login {service}: {result.stderr}"


def status(run: Run, *args: str, **kw: object) -> tuple[int, dict]:
    result = run("status", "--json", *args, **kw)
    return result.returncode, json_data(result.stdout)


def test_file_store_flush_leaves_keyring_logins_working(run: Run, fakes: dict[str, object]) -> None:
    """The README's headless fix, run once from cron before migrating: that run says the token
    is not in the file store; the desktop's keyring logins keep working."""
    log_in(run, "listenbrainz")
    log_in(run, "trakt")
    events = jsonl([*track_events(2), MOVIE])
    assert run("scrobble", input=events).returncode == 0

    cron = run("flush", store="file")

    assert cron.returncode == 3, cron.stderr
    lines = [line for line in cron.stderr.splitlines() if line.strip()]
    lb_line = next(line for line in lines if line.startswith("listenbrainz: "))
    assert "no token in the file store" in lb_line
    assert "tokens migrate --to file" in lb_line and "keyring" in lb_line
    trakt_line = next(line for line in lines if line.startswith("trakt: "))
    assert "no token in the file store" in trakt_line
    assert "API app" not in cron.stderr
    code, report = status(run)
    assert code == 0, report
    assert {c["service"]: c["status"] for c in report["connections"]} == {
        "listenbrainz": "ok",
        "trakt": "ok",
    }
    desktop = run("flush")
    assert desktop.returncode == 0, desktop.stderr
    assert len(fakes["listenbrainz"].received()) == 2  # type: ignore[attr-defined]
    assert len(fakes["trakt"].plays) == 1  # type: ignore[attr-defined]


def seed_app_credentials(data_dir: Path, fakes: dict[str, object]) -> None:
    """What `login` keeps when the person typed the API apps at its prompt."""
    path = data_dir / "tokens.json"
    data = json.loads(path.read_text())
    trakt, simkl, lastfm = (fakes[k] for k in ("trakt", "simkl", "lastfm"))
    data["@app/trakt"] = {"client_id": trakt.client_id, "client_secret": trakt.client_secret}  # type: ignore[attr-defined]
    data["@app/simkl"] = {"client_id": simkl.client_id}  # type: ignore[attr-defined]
    data["@app/lastfm"] = {"api_key": lastfm.api_key, "api_secret": lastfm.api_secret}  # type: ignore[attr-defined]
    path.write_text(json.dumps(data))


def test_tokens_migrate_moves_four_logins_and_their_apps_both_ways(
    run: Run, fakes: dict[str, object], data_dir: Path
) -> None:
    for service in ("listenbrainz", "trakt", "simkl", "lastfm"):
        log_in(run, service, store="file")
    seed_app_credentials(data_dir, fakes)

    moved = run("tokens", "migrate", "--to", "keyring", store="file", apps=False)

    assert moved.returncode == 0, moved.stderr
    for name in ("listenbrainz", "trakt", "simkl", "lastfm", "trakt API app", "lastfm API app"):
        assert name in moved.stderr
    assert json.loads((data_dir / "tokens.json").read_text()) == {}
    code, report = status(run, "--check", apps=False)
    assert code == 0, report
    assert [c["checked"] for c in report["connections"]] == [True] * 4

    back = run("tokens", "migrate", "--to", "file", apps=False)

    assert back.returncode == 0, back.stderr
    code, report = status(run, "--check", store="file", apps=False)
    assert code == 0, report
    assert [c["checked"] for c in report["connections"]] == [True] * 4
    code, report = status(run, apps=False)
    assert code == 3  # the keyring is empty now: this configuration lacks every token
    assert {c["token"] for c in report["connections"]} == {"missing"}


def test_logout_from_another_data_folder_leaves_this_folders_trakt_login(
    run: Run, fakes: dict[str, object], tmp_path: Path
) -> None:
    log_in(run, "trakt")

    other = run("logout", "trakt", extra={"SCROBCTL_DATA_DIR": str(tmp_path / "other")})

    assert other.returncode == 0, other.stderr
    assert fakes["trakt"].revoked == []  # type: ignore[attr-defined]
    code, report = status(run, "--check")
    assert code == 0, report
    assert report["connections"][0]["checked"] is True


def test_missing_keyring_backend_is_a_configuration_error(run: Run) -> None:
    result = run(
        "login",
        "listenbrainz",
        "--token-stdin",
        input=GOOD_TOKEN + "\n",
        extra={"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"},
    )

    assert result.returncode == 2, result.stderr
    assert "SCROBCTL_TOKEN_STORE=file" in result.stderr


def test_status_and_doctor_report_an_emptied_token_file(run: Run, data_dir: Path) -> None:
    log_in(run, "listenbrainz", store="file")
    (data_dir / "tokens.json").write_text("{}")

    code, report = status(run, store="file")
    doctor = run("doctor", "--json", store="file")

    assert code == 3
    assert report["connections"][0]["token"] == "missing"
    assert "no token in the file store" in report["connections"][0]["detail"]
    assert doctor.returncode == 1
    [login] = [c for c in json_data(doctor.stdout)["checks"] if c["name"].startswith("login")]
    assert login["status"] == "fail" and "no token in the file store" in login["detail"]


def test_tokens_migrate_moves_a_named_trakt_targets_login_and_its_own_app(
    run: Run, data_dir: Path
) -> None:
    """A Trakt target at its own URL (issue 19) has an app of its own, kept under its name."""
    staging = FakeTrakt(client_id=unique("stg-id"), client_secret=unique("stg-secret"))
    staging.poll_statuses = [200]
    own_app = {
        "SCROBCTL_TARGETS__TRAKT2__CLIENT_ID": staging.client_id,
        "SCROBCTL_TARGETS__TRAKT2__CLIENT_SECRET": staging.client_secret,
    }
    with staging:
        login = ("login", "trakt", "--name", "trakt2", "--url", staging.url, "--no-browser")
        result = run(*login, store="file", extra=own_app)
        assert result.returncode == 0, result.stderr
        path = data_dir / "tokens.json"
        data = json.loads(path.read_text())  # as if typed at login's prompt instead
        data["@app/target:trakt2"] = {
            "client_id": staging.client_id,
            "client_secret": staging.client_secret,
            "url": staging.url,  # the server it was registered with
        }
        path.write_text(json.dumps(data))

        moved = run("tokens", "migrate", "--to", "keyring", store="file", apps=False)

        assert moved.returncode == 0, moved.stderr
        assert "trakt2 API app" in moved.stderr
        assert json.loads(path.read_text()) == {}
        code, report = status(run, "--check", apps=False)
        assert code == 0, report
        assert [(c["service"], c["checked"]) for c in report["connections"]] == [("trakt2", True)]
