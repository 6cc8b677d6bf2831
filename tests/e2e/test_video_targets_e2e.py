"""End to end: a second Trakt and a second Simkl target (issue #19), each on a fake of its own on
its own port, next to the default one, through the installed `scrobctl`.

`login trakt --name trakt2 --url URL` is, for instance, Trakt's staging API with its own API app:
every play goes to both targets, each target's requests carry only the tokens its own server
issued and its own app, a refresh goes to the target's own OAuth host, and logging out of one
(revoked at its own host) leaves the other working. What arrived is read from the fakes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import (
    Cli,
    connection,
    fake_service_env,
    jsonl,
    log_in,
    status_json,
    summary_line,
    unique,
)
from tests.fakes.server import Request
from tests.fakes.simkl import FakeSimkl
from tests.fakes.trakt import FakeTrakt
from tests.helpers import json_data

DAY = 86_400
HISTORY = "/sync/history"


def trakt_fake(username: str, **kwargs: Any) -> FakeTrakt:
    return FakeTrakt(
        client_id=unique("trakt-id"),
        client_secret=unique("trakt-secret"),
        username=username,
        poll_statuses=[200],  # the user approves at once
        interval=1,
        post_slack=0.3,  # pacing is not under test here
        **kwargs,
    )


@pytest.fixture
def trakt_main() -> Iterator[FakeTrakt]:
    with trakt_fake("rob") as fake:
        yield fake


@pytest.fixture
def trakt_staging() -> Iterator[FakeTrakt]:
    # Tokens 8 days old when handed out: every use refreshes first, at this host.
    with trakt_fake("rob-staging", created_at=int(time.time()) - 8 * DAY) as fake:
        yield fake


@pytest.fixture
def simkl_main() -> Iterator[FakeSimkl]:
    with FakeSimkl(client_id=unique("simkl-id"), pending_polls=0, interval=1) as fake:
        yield fake


@pytest.fixture
def simkl_other() -> Iterator[FakeSimkl]:
    fake = FakeSimkl(client_id=unique("simkl-id"), user_name="rob-two", pending_polls=0, interval=1)
    with fake:
        yield fake


def own_app_env(name: str, client_id: str, client_secret: str | None = None) -> dict[str, str]:
    """The named target's own API app, as a user sets it (settings `targets.NAME`)."""
    env = {f"SCROBCTL_TARGETS__{name.upper()}__CLIENT_ID": client_id}
    if client_secret is not None:
        env[f"SCROBCTL_TARGETS__{name.upper()}__CLIENT_SECRET"] = client_secret
    return env


def movies(count: int, start: int, first: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "type": "movie",
            "title": f"Movie {i:03d}",
            "year": 2001,
            "ids": {"tmdb": 200_000 + i, "imdb": f"tt{8_000_000 + i}"},
            "duration_ms": 6_000_000,
            "percentage": 95,
            "watched_at": start + i * 900,
        }
        for i in range(first, first + count)
    ]


def bearer(request: Request) -> str | None:
    value = request.headers.get("authorization") or request.headers.get("Authorization")
    return value.removeprefix("Bearer ") if value else None


def api_requests(fake: FakeTrakt | FakeSimkl) -> list[Request]:
    with fake.lock:
        return [r for _, r in fake.log if not r.path.startswith("/oauth")]


def trakt_tokens_issued(fake: FakeTrakt) -> set[str]:
    with fake.lock:
        return {t["access_token"] for t in fake.issued}


def seen_anywhere(fake: FakeTrakt | FakeSimkl, secret: str) -> bool:
    """`secret` in any header, query or body the fake received."""
    with fake.lock:
        requests = [r for _, r in fake.log]
    for r in requests:
        text = json.dumps([r.headers, r.query]) + r.body.decode("utf-8", "replace")
        if secret in text:
            return True
    return False


def trakt_movies_held(fake: FakeTrakt) -> list[tuple[int, str]]:
    with fake.lock:
        return sorted((p.entry["movie"]["ids"]["tmdb"], p.entry["watched_at"]) for p in fake.plays)


def simkl_movies_held(fake: FakeSimkl) -> list[tuple[int, str]]:
    with fake.lock:
        return sorted((int(p.ids["tmdb"]), p.watched_at) for p in fake.plays)


def completed(cli: Cli, target: str) -> int:
    result = cli("queue", "list", "--service", target, "--all", "--json", "--limit", "1000")
    assert result.returncode == 0, result.stderr
    jobs = json_data(result.stdout)["jobs"]
    assert {j["service"] for j in jobs} <= {target}
    return sum(1 for j in jobs if j["state"] == "completed")


def test_two_trakt_targets_each_get_every_play_with_their_own_token_app_and_refresh(
    cli: Cli, cli_env: dict[str, str], trakt_main: FakeTrakt, trakt_staging: FakeTrakt
) -> None:
    cli_env.update(fake_service_env(trakt=trakt_main))
    cli_env.update(own_app_env("trakt2", trakt_staging.client_id, trakt_staging.client_secret))
    log_in(cli, "trakt")
    second = cli("login", "trakt", "--name", "trakt2", "--url", trakt_staging.url, "--no-browser")
    assert second.returncode == 0, second.stderr
    assert "Logged in to trakt2 as rob-staging" in second.stderr
    events = movies(12, int(time.time()) - 3 * DAY)

    scrobbled = cli("scrobble", input=jsonl(events))
    flushed = cli("flush")

    assert scrobbled.returncode == 0, scrobbled.stderr
    assert flushed.returncode == 0, flushed.stderr
    assert "12 sent in 1 request" in summary_line(flushed.stderr, "trakt")
    assert "12 sent in 1 request" in summary_line(flushed.stderr, "trakt2")
    expected = sorted(
        (e["ids"]["tmdb"], time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(e["watched_at"])))
        for e in events
    )
    assert trakt_movies_held(trakt_main) == expected
    assert trakt_movies_held(trakt_staging) == expected
    # Each server saw only the tokens it issued, and only its own app.
    for fake, other in ((trakt_main, trakt_staging), (trakt_staging, trakt_main)):
        tokens = {bearer(r) for r in api_requests(fake)} - {None}
        assert tokens and tokens <= trakt_tokens_issued(fake)
        assert not seen_anywhere(fake, other.client_id)
        assert not seen_anywhere(fake, other.client_secret)
        assert fake.problems == []
    # The staging tokens came expired: they were refreshed at the staging host, with its app.
    assert trakt_staging.successful_refreshes >= 1
    assert trakt_main.refreshes == []
    assert completed(cli, "trakt") == completed(cli, "trakt2") == 12

    report = status_json(cli)
    named = connection(report, "trakt2")
    assert (named["kind"], named["url"], named["account"]) == (
        "trakt",
        trakt_staging.url,
        "rob-staging",
    )
    assert connection(report, "trakt")["account"] == "rob"
    checked = cli("status", "--check", "--json")
    assert checked.returncode == 0, checked.stderr

    # import and export ratings take the target's name and go to its server only.
    main_gets = len(trakt_main.history_gets())
    imported = cli("import", "trakt2", "--full")
    assert imported.returncode == 0, imported.stderr
    assert trakt_staging.history_gets() and len(trakt_main.history_gets()) == main_gets
    listed = cli("history", "--service", "trakt2", "--json", "--limit", "100")
    assert listed.returncode == 0, listed.stderr
    assert len(json_data(listed.stdout)["plays"]) == 12

    # unscrobble takes the play off both targets, each through its own server.
    plays = json_data(listed.stdout)["plays"]
    wrong = next(p for p in plays if p["title"] == "Movie 000")
    removed = cli("unscrobble", str(wrong["id"]))
    assert removed.returncode == 0, removed.stderr
    assert "trakt: removal queued" in removed.stderr
    assert "trakt2: removal queued" in removed.stderr
    assert cli("flush").returncode == 0
    for fake in (trakt_main, trakt_staging):
        with fake.lock:
            assert [p.entry["movie"]["ids"]["tmdb"] for p in fake.removed] == [200_000]
    bad = cli("unscrobble", "--from", "trakt3", str(wrong["id"]))
    assert bad.returncode == 2 and "no target named 'trakt3'" in bad.stderr

    # A refused refresh marks only trakt2, with the login that brings it back (its URL kept).
    trakt_staging.invalidate_refresh_tokens()
    assert cli("scrobble", input=jsonl(movies(1, int(time.time()) - DAY, first=30))).returncode == 0
    refused = cli("flush")
    assert refused.returncode == 3, refused.stderr
    assert "scrobctl login trakt --name trakt2" in summary_line(refused.stderr, "trakt2")
    assert "1 sent" in summary_line(refused.stderr, "trakt")
    with trakt_staging.lock:
        trakt_staging.poll_statuses.append(200)
    again = cli("login", "trakt", "--name", "trakt2", "--no-browser")
    assert again.returncode == 0, again.stderr
    assert connection(status_json(cli), "trakt2")["url"] == trakt_staging.url
    assert cli("flush").returncode == 0
    assert len(trakt_movies_held(trakt_staging)) == 12

    # Logging out of trakt2 revokes its token at its own host; trakt keeps working.
    staging_token = trakt_staging.current_access_token
    logged_out = cli("logout", "trakt2")
    assert logged_out.returncode == 0, logged_out.stderr
    assert trakt_staging.revoked == [staging_token]
    assert trakt_main.revoked == []
    more = movies(3, int(time.time()) - 2 * DAY, first=50)
    assert cli("scrobble", input=jsonl(more)).returncode == 0
    after = cli("flush")
    assert after.returncode == 0, after.stderr
    assert "3 sent in 1 request" in summary_line(after.stderr, "trakt")
    assert len(trakt_movies_held(trakt_main)) == 15
    assert len(trakt_movies_held(trakt_staging)) == 12
    assert [c["service"] for c in status_json(cli)["connections"]] == ["trakt"]


def test_two_simkl_targets_each_get_every_play_and_logout_of_one_leaves_the_other(
    cli: Cli, cli_env: dict[str, str], simkl_main: FakeSimkl, simkl_other: FakeSimkl
) -> None:
    cli_env.update(fake_service_env(simkl=simkl_main))
    cli_env.update(own_app_env("simkl2", simkl_other.client_id))
    log_in(cli, "simkl")
    second = cli("login", "simkl", "--name", "simkl2", "--url", simkl_other.url, "--no-browser")
    assert second.returncode == 0, second.stderr
    assert "Logged in to simkl2 as rob-two" in second.stderr
    events = movies(8, int(time.time()) - 3 * DAY)

    assert cli("scrobble", input=jsonl(events)).returncode == 0
    only_named = cli("flush", "simkl2")  # flush takes a target's name: the other one waits
    assert only_named.returncode == 0, only_named.stderr
    assert "8 sent in 1 request" in summary_line(only_named.stderr, "simkl2")
    assert (len(simkl_movies_held(simkl_other)), len(simkl_movies_held(simkl_main))) == (8, 0)
    flushed = cli("flush")

    assert flushed.returncode == 0, flushed.stderr
    assert "8 sent in 1 request" in summary_line(flushed.stderr, "simkl")
    assert simkl_movies_held(simkl_main) == simkl_movies_held(simkl_other)
    assert len(simkl_movies_held(simkl_other)) == 8
    for fake, other in ((simkl_main, simkl_other), (simkl_other, simkl_main)):
        tokens = {bearer(r) for r in api_requests(fake)} - {None}
        with fake.lock:
            assert tokens and tokens <= fake.tokens
        assert not seen_anywhere(fake, other.client_id)
        assert fake.problems == []
    assert completed(cli, "simkl") == completed(cli, "simkl2") == 8
    checked = cli("status", "--check", "--json")
    assert checked.returncode == 0, checked.stderr
    assert connection(json_data(checked.stdout), "simkl2")["account"] == "rob-two"

    # export ratings takes the target's name and goes to its server only. (`import` by name
    # is shown with Trakt: this fake has no /sync/activities, which a Simkl import asks first.)

    rated = cli("rate", f"movie:tmdb:{events[0]['ids']['tmdb']}", "9")
    assert rated.returncode == 0, rated.stderr
    exported = cli("export", "ratings", "--to", "simkl2", "--json")
    assert exported.returncode == 0, exported.stderr
    assert json_data(exported.stdout)["queued"] == 1
    rated_flush = cli("flush")
    assert rated_flush.returncode == 0, rated_flush.stderr
    with simkl_other.lock:
        assert [(str(r.ids["tmdb"]), r.rating) for r in simkl_other.ratings] == [
            (str(events[0]["ids"]["tmdb"]), 9)
        ]
    with simkl_main.lock:
        assert simkl_main.ratings == []

    assert cli("logout", "simkl2").returncode == 0
    more = movies(2, int(time.time()) - 2 * DAY, first=40)
    assert cli("scrobble", input=jsonl(more)).returncode == 0
    after = cli("flush")
    assert after.returncode == 0, after.stderr
    assert "2 sent in 1 request" in summary_line(after.stderr, "simkl")
    assert len(simkl_movies_held(simkl_main)) == 10
    assert len(simkl_movies_held(simkl_other)) == 8


def test_a_trakt_target_at_its_own_url_never_gets_the_kinds_app(
    cli: Cli, cli_env: dict[str, str], trakt_main: FakeTrakt, trakt_staging: FakeTrakt
) -> None:
    """No app of its own set up: the login stops before any request, naming the settings; the
    kind's client secret is not sent to the other host."""
    cli_env.update(fake_service_env(trakt=trakt_main))

    result = cli("login", "trakt", "--name", "trakt2", "--url", trakt_staging.url, "--no-browser")

    assert result.returncode == 2, result.stderr
    assert "SCROBCTL_TARGETS__TRAKT2__CLIENT_ID" in result.stderr
    assert trakt_staging.url in result.stderr
    assert trakt_staging.log == []
    assert cli("status", "--json").returncode == 0


def test_a_second_trakt_account_without_url_uses_the_kinds_app_and_a_token_of_its_own(
    cli: Cli, cli_env: dict[str, str], trakt_main: FakeTrakt
) -> None:
    cli_env.update(fake_service_env(trakt=trakt_main))
    log_in(cli, "trakt")
    first_token = trakt_main.current_access_token
    with trakt_main.lock:  # the second person approves their code at once too
        trakt_main.poll_statuses.append(200)
        trakt_main.username = "kid"

    second = cli("login", "trakt", "--name", "family", "--no-browser")

    assert second.returncode == 0, second.stderr
    assert "Logged in to family as kid" in second.stderr
    assert trakt_main.current_access_token != first_token
    assert completed(cli, "family") == 0
    assert cli("scrobble", input=jsonl(movies(2, int(time.time()) - DAY))).returncode == 0
    flushed = cli("flush")
    assert flushed.returncode == 0, flushed.stderr
    posts = [r for r in api_requests(trakt_main) if r.method == "POST" and r.path == HISTORY]
    assert sorted(bearer(r) for r in posts) == sorted(
        [first_token, trakt_main.current_access_token]
    )
    report = status_json(cli)
    named = connection(report, "family")
    assert (named["kind"], named["url"], named["account"]) == ("trakt", None, "kid")
    assert connection(report, "trakt")["account"] == "rob"
