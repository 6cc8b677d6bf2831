"""`scrobctl serve` end to end: the installed console script listening on a free 127.0.0.1
port, fed by a real HTTP client (httpx; liblistenbrainz for the ListenBrainz side) with bodies
written from each source's documented format (shared/api-notes/file-formats.md §6, Plex's
webhook article, jellyfin-plugin-webhook's DataObjectHelpers.cs, ListenBrainz's api.py).

What is checked is what the archive holds afterwards, through `queue list --json` and
`history --json`: each request becomes exactly one queued play with its ids, or nothing.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import liblistenbrainz
import pytest

from tests.e2e.conftest import (
    TIMEOUT,
    Cli,
    fake_service_env,
    log_in,
    unique,
    wait_until,
)
from tests.fakes.listenbrainz import FakeListenBrainz
from tests.fakes.trakt import FakeTrakt
from tests.helpers import json_data

DAY = 86_400
MATRIX = {
    "type": "movie",
    "title": "The Matrix",
    "year": 1999,
    "duration": 8_160_000,
    "guid": "plex://movie/5d7768ba96b655001fdc0408",
    "Guid": [{"id": "imdb://tt0133093"}, {"id": "tmdb://603"}, {"id": "tvdb://169"}],
    "librarySectionType": "movie",
    "ratingKey": "1234",
}


@dataclass
class Server:
    proc: subprocess.Popen[str]
    url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8")


@pytest.fixture
def fake_trakt() -> Iterator[FakeTrakt]:
    fake = FakeTrakt(
        client_id=unique("trakt-id"),
        client_secret=unique("trakt-secret"),
        poll_statuses=[200],
        interval=1,
    )
    with fake:
        yield fake


@pytest.fixture
def trakt_env(cli_env: dict[str, str], fake_trakt: FakeTrakt) -> dict[str, str]:
    cli_env.update(fake_service_env(trakt=fake_trakt))
    return cli_env


@pytest.fixture
def start_serve(
    scrobctl_bin: Path, cli_env: dict[str, str], tmp_path: Path
) -> Iterator[Callable[..., Server]]:
    """Start `scrobctl serve --port 0 ...`; ready once it printed its address and answers."""
    started: list[subprocess.Popen[str]] = []

    def start(*args: str, verbose: bool = False) -> Server:
        log_path = tmp_path / f"serve-{len(started)}.log"
        with log_path.open("w") as log:
            proc = subprocess.Popen(
                [str(scrobctl_bin), *(["-v"] if verbose else []), "serve", "--port", "0", *args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                text=True,
                env=cli_env,
            )
        started.append(proc)
        found: list[str] = []

        def listening() -> bool:
            assert proc.poll() is None, log_path.read_text()
            found[:] = re.findall(r"listening on (http://\S+)", log_path.read_text())
            return bool(found)

        wait_until(listening, timeout=TIMEOUT)
        url = found[0]

        def answers() -> bool:
            try:
                return httpx.get(url + "/", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(answers, timeout=TIMEOUT)
        return Server(proc, url, log_path)

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def add_token(cli: Cli, name: str, *options: str) -> str:
    result = cli("serve", "token", "add", name, *options)
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    uuid.UUID(token)
    return token


def jobs(cli: Cli) -> list[dict[str, Any]]:
    result = cli("queue", "list", "--json", "--all")
    assert result.returncode == 0, result.stderr
    return json_data(result.stdout)["jobs"]


def plays(cli: Cli) -> list[dict[str, Any]]:
    result = cli("history", "--json")
    assert result.returncode == 0, result.stderr
    return json_data(result.stdout)["plays"]


def plex_post(server: Server, token: str, payload: dict[str, Any]) -> httpx.Response:
    """As Plex sends it: multipart/form-data with the JSON in a part named `payload`."""
    return httpx.post(
        f"{server.url}/plex",
        params={"token": token},
        files={"payload": (None, json.dumps(payload), None)},
        timeout=TIMEOUT,
    )


def plex_event(event: str, metadata: dict[str, Any], account: str = "alice") -> dict[str, Any]:
    return {
        "event": event,
        "user": True,
        "owner": True,
        "Account": {"id": 1, "thumb": "https://plex.tv/users/x/avatar", "title": account},
        "Server": {"title": "nas", "uuid": "0123abcd"},
        "Player": {"local": True, "publicAddress": "127.0.0.1", "title": "TV", "uuid": "p1"},
        "Metadata": metadata,
    }


# -- Done when --------------------------------------------------------------------------


def test_serve_plex_scrobble_then_stop_of_a_movie_queues_one_play(
    cli: Cli, trakt_env: dict[str, str], start_serve: Callable[..., Server]
) -> None:
    log_in(cli, "trakt")
    token = add_token(cli, "plex", "--account", "alice")
    server = start_serve()

    scrobbled = plex_post(
        server, token, plex_event("media.scrobble", {**MATRIX, "viewOffset": 7_400_000})
    )
    stopped = plex_post(
        server, token, plex_event("media.stop", {**MATRIX, "viewOffset": 7_460_000})
    )

    assert scrobbled.status_code == 200, scrobbled.text
    assert scrobbled.json()["queued"] == 1
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["queued"] == 0 and stopped.json()["duplicate"] == 1
    [job] = jobs(cli)
    assert job["service"] == "trakt" and job["state"] == "available"
    [play] = plays(cli)
    assert play["kind"] == "movie"
    assert play["ids"]["tmdb"] == 603 and play["ids"]["imdb"] == "tt0133093"
    assert token not in server.log()


def test_serve_jellyfin_playback_stop_of_an_episode_queues_one_play(
    cli: Cli, trakt_env: dict[str, str], start_serve: Callable[..., Server]
) -> None:
    log_in(cli, "trakt")
    token = add_token(cli, "jellyfin", "--account", "rob")
    server = start_serve()
    # As the plugin's Generic destination sends a template's output: text/plain, every value a
    # string, .NET booleans ("True"), ticks (10,000 a millisecond), zero-padded numbers.
    body = {
        "NotificationType": "PlaybackStop",
        "ServerName": "jelly",
        "UtcTimestamp": "2026-11-30T20:15:00.0000000Z",
        "Name": "Half Loop",
        "ItemId": "b0c1d2",
        "ItemType": "Episode",
        "SeriesName": "Severance",
        "SeasonNumber00": "01",
        "SeasonNumber": "1",
        "EpisodeNumber00": "02",
        "EpisodeNumber": "2",
        "Year": "2022",
        "RunTimeTicks": "32940000000",
        "PlaybackPositionTicks": "32900000000",
        "PlayedToCompletion": "True",
        "IsPaused": "False",
        "Provider_tvdb": "8937281",
        "Provider_imdb": "tt11650492",
        "Provider_tmdb": "2202374",
        "NotificationUsername": "rob",
        "UserId": "5f1e",
    }

    reply = httpx.post(
        f"{server.url}/jellyfin",
        params={"token": token},
        content=json.dumps(body),
        headers={"Content-Type": "text/plain"},
        timeout=TIMEOUT,
    )

    assert reply.status_code == 200, reply.text
    assert reply.json()["queued"] == 1
    [job] = jobs(cli)
    assert job["service"] == "trakt"
    [play] = plays(cli)
    assert play["kind"] == "episode"
    assert (play["season"], play["number"]) == (1, 2)
    assert play["ids"]["tvdb"] == 8937281 and play["ids"]["imdb"] == "tt11650492"
    assert play["ids"]["tmdb"] == 2202374


def test_serve_takes_fifty_listens_from_liblistenbrainz(
    cli: Cli, logged_in: Any, start_serve: Callable[..., Server]
) -> None:
    token = add_token(cli, "navidrome")
    server = start_serve()
    client = liblistenbrainz.ListenBrainz(api_base_url=server.url)
    client.set_auth_token(token)  # checked with GET /1/validate-token, as against ListenBrainz
    first = int(time.time()) - 2 * DAY
    mbids = [str(uuid.uuid4()) for _ in range(50)]
    listens = [
        liblistenbrainz.Listen(
            track_name=f"Track {i:02d}",
            artist_name="The Testers",
            release_name="Served",
            listened_at=first + i * 300,
            recording_mbid=mbids[i],
            additional_info={"duration_ms": 200_000},
        )
        for i in range(50)
    ]

    answer = client.submit_multiple_listens(listens)
    again = client.submit_multiple_listens(listens)  # a client that resends: nothing new

    assert answer == {"status": "ok"} and again == {"status": "ok"}
    queued = jobs(cli)
    assert len(queued) == 50 and {j["service"] for j in queued} == {"listenbrainz"}
    assert sorted(p["ids"]["mbid"] for p in plays(cli)) == sorted(mbids)


WEBHOOKS: list[tuple[str, dict[str, Any]]] = [
    ("/plex", {"files": {"payload": (None, json.dumps(plex_event("media.scrobble", MATRIX)))}}),
    ("/jellyfin", {"content": json.dumps({"NotificationType": "PlaybackStop"})}),
    ("/emby", {"json": {"Event": "playback.stop"}}),
]


def test_serve_refuses_webhooks_with_a_wrong_token_and_records_nothing(
    cli: Cli, start_serve: Callable[..., Server]
) -> None:
    add_token(cli, "plex")
    server = start_serve()
    wrong = str(uuid.uuid4())

    statuses = [
        httpx.post(f"{server.url}{path}", params=params, timeout=TIMEOUT, **send).status_code
        for path, send in WEBHOOKS
        for params in ({"token": wrong}, {})
    ]

    assert statuses == [401] * 6

    assert jobs(cli) == [] and plays(cli) == []
    assert wrong not in server.log()


def test_serve_refuses_scrobblers_with_a_wrong_token_and_records_nothing(
    cli: Cli, start_serve: Callable[..., Server]
) -> None:
    add_token(cli, "phone")
    server = start_serve()
    wrong = str(uuid.uuid4())
    listen = {"listened_at": int(time.time()) - 600, "track_metadata": LISTEN_METADATA}
    body = {"listen_type": "single", "payload": [listen]}

    lb = httpx.post(
        f"{server.url}/1/submit-listens",
        json=body,
        headers={"Authorization": f"Token {wrong}"},
        timeout=TIMEOUT,
    )
    no_header = httpx.post(f"{server.url}/1/submit-listens", json=body, timeout=TIMEOUT)
    lastfm = httpx.post(
        f"{server.url}/2.0/",
        data={
            "method": "track.scrobble",
            "artist": "A",
            "track": "T",
            "timestamp": str(int(time.time())),
            "sk": wrong,
            "api_key": "k",
            "api_sig": "s",
        },
        timeout=TIMEOUT,
    )

    assert lb.status_code == 401 and lb.json() == {
        "code": 401,
        "error": "Invalid authorization token.",
    }
    assert no_header.status_code == 401
    assert no_header.json()["error"] == "You need to provide an Authorization header."
    assert lastfm.status_code == 401 and '<error code="9">' in lastfm.text
    assert jobs(cli) == [] and plays(cli) == []
    assert wrong not in server.log()


LISTEN_METADATA = {
    "artist_name": "Johnny Cash",
    "track_name": "Hurt",
    "release_name": "American IV",
    "additional_info": {"duration_ms": 218_000},
}


def test_serve_killed_right_after_a_200_keeps_every_acknowledged_play(
    cli: Cli, logged_in: Any, start_serve: Callable[..., Server]
) -> None:
    import sqlite3
    import threading

    token = add_token(cli, "phone")
    server = start_serve(verbose=True)
    first = int(time.time()) - DAY
    http = httpx.Client(base_url=server.url, timeout=TIMEOUT)

    def submit(i: int) -> httpx.Response:
        listen = {
            "listened_at": first + i * 300,
            "track_metadata": {**LISTEN_METADATA, "track_name": f"Hurt {i}"},
        }
        return http.post(
            "/1/submit-listens",
            json={"listen_type": "single", "payload": [listen]},
            headers={"Authorization": f"Token {token}"},
        )

    acknowledged = []
    for i in range(20):
        reply = submit(i)
        assert reply.status_code == 200, reply.text
        acknowledged.append(f"Hurt {i}")
    # One more while the database's write lock is held elsewhere: it cannot commit, so it
    # must not be answered; the kill then finds it unanswered.
    db = sqlite3.connect(Path(os.environ["SCROBCTL_DATA_DIR"]) / "scrobctl.db", timeout=TIMEOUT)
    db.execute("BEGIN IMMEDIATE")
    late: list[object] = []

    def last() -> None:
        try:
            late.append(submit(20).status_code)
        except httpx.TransportError as exc:
            late.append(exc)

    sender = threading.Thread(target=last)
    sender.start()
    wait_until(
        lambda: server.log().count("phone POST /1/submit-listens: received") == 21,
        timeout=TIMEOUT,
    )
    sender.join(0.5)  # time enough for an answer that did not wait for the commit
    answered_while_locked = list(late)
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait(timeout=TIMEOUT)
    db.rollback()
    db.close()
    sender.join(TIMEOUT)
    http.close()

    assert answered_while_locked == []
    assert late and late[0] != 200
    assert sorted(p["title"] for p in plays(cli)) == sorted(acknowledged)
    assert len(jobs(cli)) == 20


# -- the rest of the contract -------------------------------------------------------------


def test_serve_stops_cleanly_on_sigterm(cli: Cli, start_serve: Callable[..., Server]) -> None:
    add_token(cli, "plex")
    server = start_serve()

    server.proc.send_signal(signal.SIGTERM)

    assert server.proc.wait(timeout=TIMEOUT) == 0
    assert "stopped" in server.log()


def test_serve_plex_ignores_other_accounts(
    cli: Cli, trakt_env: dict[str, str], start_serve: Callable[..., Server]
) -> None:
    log_in(cli, "trakt")
    token = add_token(cli, "plex", "--account", "alice")
    server = start_serve()

    reply = plex_post(server, token, plex_event("media.scrobble", MATRIX, account="bob"))

    assert reply.status_code == 200 and "another Plex account" in reply.json()["ignored"]
    assert jobs(cli) == [] and plays(cli) == []


def test_serve_emby_playback_stop_queues_the_movie(
    cli: Cli, trakt_env: dict[str, str], start_serve: Callable[..., Server]
) -> None:
    log_in(cli, "trakt")
    token = add_token(cli, "emby")
    server = start_serve()
    body = {
        "Title": "rob has finished playing The Matrix",
        "Date": "2026-09-15T05:39:30.6901198Z",
        "Event": "playback.stop",
        "Severity": "Info",
        "User": {"Name": "rob", "Id": "e1"},
        "Item": {
            "Name": "The Matrix",
            "Id": "77",
            "Type": "Movie",
            "ProductionYear": 1999,
            "RunTimeTicks": 81_600_000_000,
            "ProviderIds": {"Tmdb": "603", "Imdb": "tt0133093"},
        },
        "PlaybackInfo": {"PlayedToCompletion": False, "PositionTicks": 79_000_000_000},
    }

    reply = httpx.post(f"{server.url}/emby", params={"token": token}, json=body, timeout=TIMEOUT)

    assert reply.status_code == 200 and reply.json()["queued"] == 1, reply.text
    [play] = plays(cli)
    assert play["ids"]["tmdb"] == 603


def test_serve_lastfm_mobile_session_then_batch_scrobble(
    cli: Cli, logged_in: Any, start_serve: Callable[..., Server]
) -> None:
    from xml.dom import minidom

    token = add_token(cli, "pano")
    server = start_serve()
    now = int(time.time())
    with httpx.Client(base_url=server.url, timeout=TIMEOUT) as http:
        session = http.post(
            "/2.0/",
            data={
                "method": "auth.getMobileSession",
                "username": "rob",
                "password": token,
                "api_key": "client-key",
                "api_sig": "client-sig",
            },
        )
        doc = minidom.parseString(session.text)
        key = doc.getElementsByTagName("key")[0].firstChild.data  # type: ignore[union-attr]
        scrobbled = http.post(
            "/2.0/",
            data={
                "method": "track.scrobble",
                "sk": key,
                "api_key": "client-key",
                "api_sig": "client-sig",
                "format": "json",
                "artist[0]": "Johnny Cash",
                "track[0]": "Hurt",
                "timestamp[0]": str(now - 900),
                "duration[0]": "218",
                "album[0]": "American IV",
                "artist[1]": "Nine Inch Nails",
                "track[1]": "Hurt",
                "timestamp[1]": str(now - 600),
                "duration[1]": "373",
                "artist[2]": "Johnny Cash",
                "track[2]": "Hurt",
                "timestamp[2]": str(now + 3600),  # from the future: ignored, code 4
            },
        )

    assert session.status_code == 200
    assert doc.documentElement.getAttribute("status") == "ok"
    assert scrobbled.status_code == 200, scrobbled.text
    answer = scrobbled.json()["scrobbles"]
    assert answer["@attr"] == {"accepted": 2, "ignored": 1}
    assert [e["ignoredMessage"]["code"] for e in answer["scrobble"]] == ["0", "0", "4"]
    assert sorted(p["artist"] for p in plays(cli)) == ["Johnny Cash", "Nine Inch Nails"]
    assert len(jobs(cli)) == 2


BAD_BODIES: list[tuple[str, dict[str, Any], str]] = [
    ("/plex", {"files": {"payload": (None, "{not json")}}, "not valid JSON"),
    ("/plex", {"files": {"thumb": ("t.jpg", b"\xff\xd8", "image/jpeg")}}, "payload"),
    (
        "/plex",
        {
            "files": {
                "payload": (
                    None,
                    json.dumps(
                        plex_event(
                            "media.stop",
                            {
                                "type": "movie",
                                "duration": 8_160_000,
                                "viewOffset": 8_000_000,
                                "Guid": [],
                            },
                        )
                    ),
                )
            }
        },
        "a movie needs an id",
    ),
    ("/jellyfin", {"content": b"\xff\xfe"}, "UTF-8"),
    ("/jellyfin", {"content": "[1, 2]"}, "JSON object"),
    ("/jellyfin", {"content": '{"Name": "x"}'}, "NotificationType"),
    ("/emby", {"content": "NaN"}, "not valid JSON"),
    ("/1/submit-listens", {"content": "{}"}, "Invalid JSON document submitted."),
    (
        "/1/submit-listens",
        {"json": {"listen_type": "single", "payload": []}},
        "does not contain any listens",
    ),
    (
        "/1/submit-listens",
        {
            "json": {
                "listen_type": "single",
                "payload": [{"listened_at": 1, "track_metadata": LISTEN_METADATA}],
            }
        },
        "listened_at is too low",
    ),
    (
        "/1/submit-listens",
        {
            "json": {
                "listen_type": "import",
                "payload": [
                    {
                        "listened_at": 1_700_000_000,
                        "track_metadata": {"artist_name": "A", "track_name": "\u0000"},
                    }
                ],
            }
        },
        "unicode null",
    ),
]


def test_serve_answers_each_bad_body_with_400_and_the_reason(
    cli: Cli, start_serve: Callable[..., Server]
) -> None:
    token = add_token(cli, "any")
    server = start_serve()
    answers = []

    with httpx.Client(base_url=server.url, timeout=TIMEOUT) as http:
        for path, send, _reason in BAD_BODIES:
            reply = http.post(
                path, params={"token": token}, headers={"Authorization": f"Token {token}"}, **send
            )
            answers.append((path, reply.status_code, reply.json().get("error", "")))
        alive = http.get("/").status_code

    wrong = [
        (path, status, error, reason)
        for (path, status, error), (_, _, reason) in zip(answers, BAD_BODIES, strict=True)
        if status != 400 or reason not in error
    ]
    assert wrong == []
    assert alive == 200
    assert plays(cli) == []


def test_serve_flush_every_sends_the_queue_from_the_same_process(
    cli: Cli, logged_in: Any, fake_lb: FakeListenBrainz, start_serve: Callable[..., Server]
) -> None:
    token = add_token(cli, "phone")
    server = start_serve("--flush-every", "1s")
    listen = {"listened_at": int(time.time()) - 600, "track_metadata": LISTEN_METADATA}

    reply = httpx.post(
        f"{server.url}/1/submit-listens",
        json={"listen_type": "single", "payload": [listen]},
        headers={"Authorization": f"Token {token}"},
        timeout=TIMEOUT,
    )

    assert reply.status_code == 200
    wait_until(lambda: len(fake_lb.received()) == 1, timeout=TIMEOUT)
    assert fake_lb.received()[0]["listened_at"] == listen["listened_at"]
    wait_until(lambda: [j["state"] for j in jobs(cli)] == ["completed"], timeout=TIMEOUT)


def test_serve_print_unit_runs_this_installation(cli: Cli) -> None:
    result = cli("serve", "--print-unit", "systemd", "--flush-every", "5m")

    assert result.returncode == 0, result.stderr
    [exec_start] = [line for line in result.stdout.splitlines() if line.startswith("ExecStart=")]
    assert exec_start.endswith("serve --host 127.0.0.1 --port 8765 --flush-every 5m")
    assert os.path.isabs(exec_start.removeprefix("ExecStart=").split()[0])


def test_serve_flush_every_waits_while_another_flush_holds_the_lock(
    cli: Cli,
    logged_in: Any,
    fake_lb: FakeListenBrainz,
    start_serve: Callable[..., Server],
    isolated_env: Path,
) -> None:
    import fcntl

    token = add_token(cli, "phone")
    lock_path = Path(os.environ["SCROBCTL_DATA_DIR"]) / "flush.lock"
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)  # what a running `scrobctl flush` from cron holds
    try:
        server = start_serve("--flush-every", "1s")
        listen = {"listened_at": int(time.time()) - 600, "track_metadata": LISTEN_METADATA}
        reply = httpx.post(
            f"{server.url}/1/submit-listens",
            json={"listen_type": "single", "payload": [listen]},
            headers={"Authorization": f"Token {token}"},
            timeout=TIMEOUT,
        )
        assert reply.status_code == 200
        wait_until(lambda: "another `scrobctl flush` is running" in server.log(), timeout=TIMEOUT)
        assert fake_lb.received() == []
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    wait_until(lambda: len(fake_lb.received()) == 1, timeout=TIMEOUT)


def test_serve_sigterm_answers_the_request_in_hand_before_it_exits(
    cli: Cli, logged_in: Any, start_serve: Callable[..., Server]
) -> None:
    import sqlite3
    import threading

    token = add_token(cli, "phone")
    server = start_serve(verbose=True)
    assert plays(cli) == []  # the database exists
    db = sqlite3.connect(Path(os.environ["SCROBCTL_DATA_DIR"]) / "scrobctl.db", timeout=TIMEOUT)
    db.execute("BEGIN IMMEDIATE")  # the request's commit must wait for this write lock
    replies: list[httpx.Response] = []
    listen = {"listened_at": int(time.time()) - 600, "track_metadata": LISTEN_METADATA}
    sender = threading.Thread(
        target=lambda: replies.append(
            httpx.post(
                f"{server.url}/1/submit-listens",
                json={"listen_type": "single", "payload": [listen]},
                headers={"Authorization": f"Token {token}"},
                timeout=TIMEOUT,
            )
        )
    )
    sender.start()
    wait_until(lambda: "phone POST /1/submit-listens: received" in server.log(), timeout=TIMEOUT)

    server.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)  # a server that did not wait for the request would be gone by now
    still_running = server.proc.poll() is None
    db.rollback()
    db.close()
    sender.join(TIMEOUT)

    assert still_running
    assert server.proc.wait(timeout=TIMEOUT) == 0
    assert [r.status_code for r in replies] == [200]
    assert [p["title"] for p in plays(cli)] == ["Hurt"]


def test_serve_plex_play_of_a_track_shows_it_as_playing_now(
    cli: Cli, logged_in: Any, fake_lb: FakeListenBrainz, start_serve: Callable[..., Server]
) -> None:
    token = add_token(cli, "plex")
    server = start_serve()
    track = {
        "type": "track",
        "title": "Hurt",
        "grandparentTitle": "Johnny Cash",
        "parentTitle": "American IV",
        "duration": 218_000,
    }

    reply = plex_post(server, token, plex_event("media.play", track))

    assert reply.status_code == 200 and reply.json()["not_a_play"] == 1

    def playing_now() -> list[dict[str, Any]]:
        with fake_lb.lock:
            sent = [r.json() for r in fake_lb.requests if r.path == "/1/submit-listens"]
        return [body for body in sent if body.get("listen_type") == "playing_now"]

    wait_until(lambda: len(playing_now()) == 1, timeout=TIMEOUT)
    assert playing_now()[0]["payload"][0]["track_metadata"]["track_name"] == "Hurt"
    assert jobs(cli) == []
