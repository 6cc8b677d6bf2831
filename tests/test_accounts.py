"""What every login flow shares (accounts/common.py, accounts/check.py): the user's own API app
credentials (settings first, then the token store's "@app" entry, then one interactive question)
and `status --check`, which marks refused connections "reconnect required" without touching the
queue."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import respx

from scrobctl.accounts.check import check_connections
from scrobctl.accounts.common import APP_PROFILE, app_credentials
from scrobctl.accounts.trakt import login_trakt
from scrobctl.errors import UsageError
from scrobctl.paths import config_file
from scrobctl.runtime import Runtime
from scrobctl.store import connections, queue
from tests.conftest import FakeClock
from tests.helpers import FakeUI, make_runtime

PROFILE = "default"


def runtime_with(isolated_env: Path, clock: FakeClock, **services: dict[str, str]) -> Runtime:
    return make_runtime(isolated_env, clock, **services)


TRAKT_HELP = "create an app at https://trakt.tv/oauth/applications"


# -- app credentials: where they come from --------------------------------------------------


def test_app_credentials_settings_values_win(isolated_env: Path, clock: FakeClock) -> None:
    rt = runtime_with(
        isolated_env, clock, trakt={"client_id": "env-id", "client_secret": "env-secret"}
    )
    rt.tokens().set(APP_PROFILE, "trakt", {"client_id": "kept-id", "client_secret": "kept"})

    app = app_credentials(rt, "trakt", TRAKT_HELP, FakeUI(interactive=True))

    assert app == {"client_id": "env-id", "client_secret": "env-secret"}


def test_app_credentials_settings_value_overrides_the_same_stored_field(
    isolated_env: Path, clock: FakeClock
) -> None:
    rt = runtime_with(isolated_env, clock, trakt={"client_id": "env-id"})
    rt.tokens().set(APP_PROFILE, "trakt", {"client_id": "kept-id", "client_secret": "kept"})

    app = app_credentials(rt, "trakt", TRAKT_HELP, None)

    assert app == {"client_id": "env-id", "client_secret": "kept"}


def test_app_credentials_fall_back_to_the_token_store_app_entry(no_logins: Runtime) -> None:
    no_logins.tokens().set(APP_PROFILE, "lastfm", {"api_key": "k", "api_secret": "s"})
    ui = FakeUI(interactive=True)

    app = app_credentials(no_logins, "lastfm", "create an API account", ui)

    assert app == {"api_key": "k", "api_secret": "s"}
    assert ui.calls == []


@pytest.mark.parametrize(
    ("service", "env", "where"),
    [
        (
            "trakt",
            ["SCROBCTL_TRAKT__CLIENT_ID", "SCROBCTL_TRAKT__CLIENT_SECRET"],
            "https://trakt.tv/oauth/applications",
        ),
        ("simkl", ["SCROBCTL_SIMKL__CLIENT_ID"], "https://simkl.com/settings/developer/"),
        (
            "lastfm",
            ["SCROBCTL_LASTFM__API_KEY", "SCROBCTL_LASTFM__API_SECRET"],
            "https://www.last.fm/api/account/create",
        ),
    ],
)
def test_app_credentials_missing_non_interactive_raises_usage_error_naming_env_and_where(
    no_logins: Runtime, service: str, env: list[str], where: str
) -> None:
    from scrobctl.accounts import lastfm
    from scrobctl.services import simkl, trakt

    help_text = {"trakt": trakt.APP_HELP, "simkl": simkl.APP_HELP, "lastfm": lastfm.APP_HELP}
    ui = FakeUI(interactive=False)

    with pytest.raises(UsageError) as caught:
        app_credentials(no_logins, service, help_text[service], ui)

    text = str(caught.value)
    assert all(name in text for name in env)
    assert where in text
    assert ui.called("ask_app_credentials") == []


def test_app_credentials_missing_without_a_ui_raises_usage_error(no_logins: Runtime) -> None:
    with pytest.raises(UsageError, match="no trakt API app is set up"):
        app_credentials(no_logins, "trakt", TRAKT_HELP, None)


# -- app credentials: asking ------------------------------------------------------------------


def test_app_credentials_interactive_asks_once_and_stores_in_the_token_store(
    no_logins: Runtime,
) -> None:
    ui = FakeUI(interactive=True, answers={"client_id": " my-id ", "client_secret": "my-secret\n"})

    first = app_credentials(no_logins, "trakt", TRAKT_HELP, ui)
    second = app_credentials(no_logins, "trakt", TRAKT_HELP, ui)

    assert first == second == {"client_id": "my-id", "client_secret": "my-secret"}
    assert ui.called("ask_app_credentials") == [
        ("trakt", TRAKT_HELP, ["client_id", "client_secret"])
    ]
    assert no_logins.tokens().get(APP_PROFILE, "trakt") == first


# -- app credentials: a named target's own app (issue 19) --------------------------------------

STAGING = "https://api-staging.trakt.tv"
KIND_APP = {"client_id": "prod-id", "client_secret": "prod-secret"}


def test_a_target_at_its_own_url_gets_its_own_app_never_the_kinds(
    isolated_env: Path, clock: FakeClock
) -> None:
    from scrobctl.accounts.common import own_app_key
    from scrobctl.targets import Target

    rt = runtime_with(isolated_env, clock, trakt=KIND_APP)
    staging = Target(PROFILE, "trakt2", "trakt", STAGING, None)
    ui = FakeUI(interactive=True, answers={"client_id": "stg-id", "client_secret": "stg-secret"})

    first = app_credentials(rt, "trakt", TRAKT_HELP, ui, staging)
    again = app_credentials(rt, "trakt", TRAKT_HELP, FakeUI(interactive=False), staging)

    assert first == again == {"client_id": "stg-id", "client_secret": "stg-secret"}
    [(who, help_text, _)] = ui.called("ask_app_credentials")
    assert who == "trakt2" and STAGING in help_text
    assert rt.tokens().get(APP_PROFILE, own_app_key("trakt2")) == {**first, "url": STAGING}
    assert rt.tokens().get(APP_PROFILE, "trakt") is None  # the kind's app is not touched
    second_account = Target(PROFILE, "family", "trakt", None, None)
    assert app_credentials(rt, "trakt", TRAKT_HELP, None, second_account) == KIND_APP
    # The same name at another URL: that server never sees the app registered with staging.
    moved = Target(PROFILE, "trakt2", "trakt", "https://trakt.example.org", None)
    with pytest.raises(UsageError, match=r"https://trakt\.example\.org"):
        app_credentials(rt, "trakt", TRAKT_HELP, FakeUI(interactive=False), moved)


def test_a_targets_own_app_comes_from_settings_targets_name_first(
    isolated_env: Path, clock: FakeClock
) -> None:
    from scrobctl.targets import Target

    own = {"client_id": "set-id", "client_secret": "set-secret"}
    rt = make_runtime(isolated_env, clock, trakt=KIND_APP, targets={"trakt2": own})  # type: ignore[arg-type]
    staging = Target(PROFILE, "trakt2", "trakt", STAGING, None)

    assert app_credentials(rt, "trakt", TRAKT_HELP, FakeUI(interactive=True), staging) == own


def test_a_targets_missing_own_app_names_its_settings_not_the_kinds(no_logins: Runtime) -> None:
    from scrobctl.targets import Target

    staging = Target(PROFILE, "trakt2", "trakt", STAGING, None)

    with pytest.raises(UsageError) as caught:
        app_credentials(no_logins, "trakt", TRAKT_HELP, None, staging)

    text = str(caught.value)
    assert "SCROBCTL_TARGETS__TRAKT2__CLIENT_ID" in text
    assert "SCROBCTL_TARGETS__TRAKT2__CLIENT_SECRET" in text
    assert STAGING in text and "SCROBCTL_TRAKT__" not in text


def test_app_credentials_interactive_blank_answer_raises_usage_error(no_logins: Runtime) -> None:
    ui = FakeUI(interactive=True, answers={"client_id": "my-id", "client_secret": "   "})

    with pytest.raises(UsageError, match="Client secret"):
        app_credentials(no_logins, "trakt", TRAKT_HELP, ui)

    assert no_logins.tokens().get(APP_PROFILE, "trakt") is None


def test_app_credentials_interactive_secret_never_reaches_config_or_database(
    isolated_env: Path, clock: FakeClock
) -> None:
    secret = "s3cret-only-in-the-token-store"
    rt = make_runtime(isolated_env, clock)
    ui = FakeUI(interactive=True, answers={"client_id": "my-id", "client_secret": secret})
    token = {"access_token": "a", "refresh_token": "r", "expires_in": 604800}
    with respx.mock(assert_all_called=True) as router:
        router.post("https://auth.trakt.tv/oauth/device/code").respond(
            200,
            json={
                "device_code": "dc",
                "user_code": "5055CC52",
                "verification_url": "https://trakt.tv/activate",
                "expires_in": 600,
                "interval": 5,
            },
        )
        router.post("https://auth.trakt.tv/oauth/device/token").respond(
            200, json={**token, "created_at": int(clock.now())}
        )
        router.get("https://api.trakt.tv/users/settings").respond(
            200, json={"user": {"username": "sean"}}
        )
        asyncio.run(login_trakt(rt, PROFILE, ui))
    rt.close()  # checkpoints the WAL into the database file

    config = config_file()
    assert not config.exists() or secret not in config.read_text()
    written = [p for p in isolated_env.rglob("*") if p.is_file() and p.name != "tokens.json"]
    assert any(p.name == "scrobctl.db" for p in written)
    for path in written:
        assert secret.encode() not in path.read_bytes(), path.name
    assert secret in (isolated_env / "tokens.json").read_text()


# -- status --check ---------------------------------------------------------------------------

TRAKT_APP = {"client_id": "trakt-id", "client_secret": "trakt-secret"}
SIMKL_APP = {"client_id": "simkl-id"}


@pytest.fixture
def two_connections(isolated_env: Path, clock: FakeClock) -> Iterator[Runtime]:
    """Trakt and Simkl both logged in, Simkl earlier marked reconnect_required; two trakt jobs."""
    rt = runtime_with(isolated_env, clock, trakt=TRAKT_APP, simkl=SIMKL_APP)
    now = int(clock.now())
    rt.tokens().set(
        PROFILE,
        "trakt",
        {"access_token": "t", "refresh_token": "r", "created_at": now, "expires_in": 604800},
    )
    rt.tokens().set(PROFILE, "simkl", {"access_token": "s"})
    store = rt.store()
    connections.save_login(store, PROFILE, "trakt", "sean", now + 604800)
    connections.save_login(store, PROFILE, "simkl", "old-name")
    connections.mark_reconnect_required(store, PROFILE, "simkl", "refused last week")
    with store.transaction() as conn:
        for i in range(2):
            item_id = conn.execute(
                "INSERT INTO items (kind, title, created_at) VALUES ('movie', ?, ?)",
                (f"Movie {i}", now),
            ).lastrowid
            play_id = conn.execute(
                "INSERT INTO plays (profile, item_id, watched_at, source, created_at)"
                " VALUES (?, ?, ?, 'test', ?)",
                (PROFILE, item_id, now - 3600 * (i + 1), now),
            ).lastrowid
            assert queue.insert_scrobble_job(conn, "trakt", PROFILE, play_id, now)
    yield rt
    rt.close()


def serve_check(router: respx.MockRouter, trakt_status: int) -> None:
    router.get("https://api.trakt.tv/users/settings").respond(
        trakt_status, json={"error": "invalid_token"} if trakt_status == 401 else {}
    )
    router.post("https://api.simkl.com/users/settings").respond(
        200, json={"user": {"name": "Sam"}, "account": {"id": 51}}
    )
    if trakt_status == 401:  # the one refresh a 401 gets is refused too: a new login is needed
        router.post("https://auth.trakt.tv/oauth/token").respond(
            401, json={"error": "invalid_grant"}
        )


def run_check(rt: Runtime, trakt_status: int = 401) -> dict[str, Any]:
    with respx.mock(assert_all_called=True) as router:
        serve_check(router, trakt_status)
        return {r.service: r for r in asyncio.run(check_connections(rt))}


def jobs(rt: Runtime) -> list[tuple[Any, ...]]:
    rows = rt.store().conn.execute("SELECT * FROM jobs ORDER BY id").fetchall()
    return [tuple(row) for row in rows]


def test_check_connections_refused_token_marks_reconnect_required(
    two_connections: Runtime,
) -> None:
    results = run_check(two_connections)

    trakt = connections.get_connection(two_connections.store(), PROFILE, "trakt")
    assert trakt is not None
    assert trakt.status == connections.RECONNECT_REQUIRED
    assert "scrobctl login trakt" in (trakt.status_detail or "")
    assert (results["trakt"].ok, results["trakt"].reconnect) == (False, True)


def test_check_connections_refused_token_keeps_queued_jobs_untouched(
    two_connections: Runtime,
) -> None:
    before = jobs(two_connections)

    run_check(two_connections)

    assert len(before) == 2
    assert jobs(two_connections) == before


def test_check_connections_marks_a_working_connection_ok(two_connections: Runtime) -> None:
    results = run_check(two_connections)

    simkl = connections.get_connection(two_connections.store(), PROFILE, "simkl")
    assert simkl is not None
    assert (simkl.status, simkl.status_detail, simkl.account) == (connections.OK, None, "Sam")
    assert (results["simkl"].ok, results["simkl"].account) == (True, "Sam")


def test_check_connections_unavailable_service_is_not_reconnect_required(
    two_connections: Runtime,
) -> None:
    results = run_check(two_connections, trakt_status=503)

    trakt = connections.get_connection(two_connections.store(), PROFILE, "trakt")
    assert trakt is not None
    assert trakt.status == connections.OK
    assert (results["trakt"].ok, results["trakt"].reconnect) == (False, False)
