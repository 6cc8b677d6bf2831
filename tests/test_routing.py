"""Which services get which media type, per profile (scrobble/routing.py): the defaults, the
podcast opt-in, a profile's `routes` setting from the environment or config.toml, and what the
scrobble use case queues under those routes."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from scrobctl.config import Settings, load_settings
from scrobctl.scrobble.routing import routes
from scrobctl.scrobble.service import ingest_events
from scrobctl.store import connections, job_counts
from scrobctl.store.db import Store
from tests.conftest import FakeClock
from tests.helpers import make_runtime

PROFILE = "default"
ALL = ("lastfm", "listenbrainz", "simkl", "trakt")


def connect(store: Store, *services: str, profile: str = PROFILE) -> None:
    for service in services:
        connections.save_login(store, profile, service, f"{profile}-{service}")


def table(store: Store, settings: Settings | None = None) -> dict[str, dict[str, list[str]]]:
    return routes(settings or load_settings(), connections.list_connections(store))


# -- defaults ---------------------------------------------------------------------------------


def test_routing_default_sends_movies_and_episodes_to_trakt_and_simkl(store: Store) -> None:
    connect(store, *ALL)

    by_type = table(store)[PROFILE]

    assert sorted(by_type["movie"]) == ["simkl", "trakt"]
    assert sorted(by_type["episode"]) == ["simkl", "trakt"]


def test_routing_default_sends_tracks_to_lastfm_and_listenbrainz(store: Store) -> None:
    connect(store, *ALL)

    assert sorted(table(store)[PROFILE]["track"]) == ["lastfm", "listenbrainz"]


def test_routing_default_sends_podcasts_nowhere(store: Store) -> None:
    connect(store, *ALL)

    assert "podcast" not in table(store)[PROFILE]


def test_routing_podcasts_go_only_to_services_with_podcasts_true(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCROBCTL_LISTENBRAINZ__PODCASTS", "true")
    connect(store, *ALL)

    by_type = table(store)[PROFILE]

    assert by_type["podcast"] == ["listenbrainz"]
    assert sorted(by_type["track"]) == ["lastfm", "listenbrainz"]  # tracks unchanged


def test_routing_default_covers_only_the_connected_services(store: Store) -> None:
    connect(store, "trakt", "listenbrainz")

    assert table(store)[PROFILE] == {
        "track": ["listenbrainz"],
        "movie": ["trakt"],
        "episode": ["trakt"],
    }


# -- a profile's routes -----------------------------------------------------------------------


def test_routing_profile_routes_from_the_environment_restrict_a_type(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCROBCTL_PROFILES__DEFAULT__ROUTES__TRACK", '["listenbrainz"]')
    connect(store, *ALL)

    by_type = table(store)[PROFILE]

    assert by_type["track"] == ["listenbrainz"]
    assert sorted(by_type["movie"]) == ["simkl", "trakt"]  # the types it does not name keep
    assert sorted(by_type["episode"]) == ["simkl", "trakt"]  # their default


def test_routing_profile_routes_from_config_toml_restrict_a_type(
    store: Store, isolated_env: Path
) -> None:
    config = isolated_env.parent / "config.toml"  # SCROBCTL_CONFIG, set by isolated_env
    config.write_text('[profiles.default.routes]\nmovie = ["trakt"]\n')
    connect(store, *ALL)

    by_type = table(store)[PROFILE]

    assert by_type["movie"] == ["trakt"]
    assert sorted(by_type["episode"]) == ["simkl", "trakt"]


def test_routing_environment_route_beats_the_config_file(
    store: Store, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (isolated_env.parent / "config.toml").write_text(
        '[profiles.default.routes]\ntrack = ["lastfm"]\n'
    )
    monkeypatch.setenv("SCROBCTL_PROFILES__DEFAULT__ROUTES__TRACK", '["listenbrainz"]')
    connect(store, *ALL)

    assert table(store)[PROFILE]["track"] == ["listenbrainz"]


def test_routing_route_to_an_unconnected_service_is_ignored(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCROBCTL_PROFILES__DEFAULT__ROUTES__TRACK", '["lastfm", "listenbrainz"]')
    connect(store, "listenbrainz", "trakt")

    assert table(store)[PROFILE]["track"] == ["listenbrainz"]


def test_routing_route_naming_only_unconnected_services_leaves_the_type_unrouted(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCROBCTL_PROFILES__DEFAULT__ROUTES__MOVIE", '["simkl"]')
    connect(store, "trakt", "listenbrainz")

    by_type = table(store)[PROFILE]

    assert "movie" not in by_type  # not silently widened to the connected Trakt
    assert by_type["episode"] == ["trakt"]


def test_routing_profiles_are_independent(store: Store, isolated_env: Path) -> None:
    (isolated_env.parent / "config.toml").write_text(
        '[profiles.kids.routes]\nepisode = ["simkl"]\ntrack = []\n'
    )
    connect(store, *ALL)
    connect(store, "simkl", "trakt", "lastfm", profile="kids")

    result = table(store)

    assert result["kids"] == {"movie": ["simkl", "trakt"], "episode": ["simkl"]}
    assert sorted(result[PROFILE]["episode"]) == ["simkl", "trakt"]
    assert sorted(result[PROFILE]["track"]) == ["lastfm", "listenbrainz"]


def test_routing_profile_without_connections_has_no_routes(store: Store) -> None:
    connect(store, *ALL, profile="work")

    assert PROFILE not in table(store)


# -- connection states ------------------------------------------------------------------------


def test_routing_disabled_connection_gets_no_plays(store: Store) -> None:
    connect(store, "lastfm", "listenbrainz")
    with store.transaction() as conn:
        conn.execute("UPDATE connections SET enabled = 0 WHERE service = 'lastfm'")

    assert table(store)[PROFILE]["track"] == ["listenbrainz"]


def test_routing_connection_needing_a_new_login_still_gets_plays(store: Store) -> None:
    connect(store, "lastfm", "listenbrainz")
    connections.mark_reconnect_required(store, PROFILE, "lastfm", "session revoked")

    assert sorted(table(store)[PROFILE]["track"]) == ["lastfm", "listenbrainz"]


# -- what gets queued -------------------------------------------------------------------------


def events(*objects: dict) -> io.BytesIO:
    return io.BytesIO("".join(json.dumps(o) + "\n" for o in objects).encode())


def test_routing_scrobble_queues_jobs_only_for_the_routed_services(
    isolated_env: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCROBCTL_PROFILES__DEFAULT__ROUTES__TRACK", '["listenbrainz"]')
    runtime = make_runtime(isolated_env, clock)
    connect(runtime.store(), *ALL)
    track = {"type": "track", "title": "Hurt", "artist": "Johnny Cash", "duration_ms": 218_000}
    film = {"type": "movie", "ids": {"tmdb": 603}, "duration_ms": 8_160_000, "percentage": 95}
    podcast = {"type": "podcast", "title": "Ep 1", "artist": "Pod", "duration_ms": 1_800_000}

    result = ingest_events(
        runtime,
        events(
            {**track, "watched_ms": 150_000, "watched_at": "2024-11-17T20:15:00Z"},
            {**film, "watched_at": "2024-11-17T21:00:00Z"},
            {**podcast, "percentage": 90, "watched_at": "2024-11-17T22:00:00Z"},
        ),
    )

    assert result.summary.jobs == {"listenbrainz": 1, "trakt": 1, "simkl": 1}
    assert result.summary.recorded_only == 1  # the podcast: kept, sent nowhere
    assert job_counts.counts(runtime.store()) == {
        "listenbrainz": {"available": 1},
        "trakt": {"available": 1},
        "simkl": {"available": 1},
    }
    runtime.close()
