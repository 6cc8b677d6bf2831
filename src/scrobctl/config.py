"""Settings: env `SCROBCTL_*` (nested with `__`), then the TOML file, then defaults.

The lookup order, highest first:
1. environment variables (`SCROBCTL_TRAKT__CLIENT_ID=...`);
2. the TOML file at `SCROBCTL_CONFIG`, or `<user_config_dir>/config.toml`;
3. the defaults below.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, HttpUrl, ValidationError, field_validator

from scrobctl import paths
from scrobctl.errors import ConfigError


class _Service(BaseModel):
    model_config = {"extra": "forbid"}


class TraktSettings(_Service):
    client_id: str | None = None
    client_secret: str | None = None
    api_url: HttpUrl = HttpUrl("https://api.trakt.tv")
    auth_url: HttpUrl = HttpUrl("https://auth.trakt.tv")


class SimklSettings(_Service):
    client_id: str | None = None
    api_url: HttpUrl = HttpUrl("https://api.simkl.com")


class LastfmSettings(_Service):
    api_key: str | None = None
    api_secret: str | None = None
    api_url: HttpUrl = HttpUrl("https://ws.audioscrobbler.com/2.0/")
    auth_url: HttpUrl = HttpUrl("https://www.last.fm/api/auth/")
    podcasts: bool = False
    love_threshold: float = Field(8, ge=1, le=10, description="ratings at or above are loved")


class ListenBrainzSettings(_Service):
    api_url: HttpUrl = HttpUrl("https://api.listenbrainz.org")
    podcasts: bool = Field(False, description="also send podcast plays (off: LB is for music)")
    love_threshold: float = Field(8, ge=1, le=10, description="ratings at or above: +1")
    hate_threshold: float = Field(3, ge=1, le=10, description="ratings at or below: -1")


class TmdbSettings(_Service):
    api_key: str | None = None
    api_url: HttpUrl = HttpUrl("https://api.themoviedb.org")


class NotifySettings(_Service):
    """Where to tell the user about problems nobody is watching for (cron): an Apprise URL
    (ntfy://, gotify://, mailto://, dbus://, json://, ...; https://github.com/caronc/apprise)."""

    url: str | None = Field(None, description="Apprise URL; several separated by spaces")


MediaType = Literal["track", "podcast", "movie", "episode"]
ServiceName = Literal["trakt", "simkl", "lastfm", "listenbrainz"]


class TargetSettings(_Service):
    """A named target's own API app (issue #19): a Trakt or Simkl target at a URL of its own
    (Trakt's staging API) is registered there, not with the kind's app. Unset: asked at login
    and kept in the token store."""

    client_id: str | None = None
    client_secret: str | None = None


class ProfileSettings(_Service):
    """Per-profile choices. `routes` names, per media type, the targets that get its plays
    (default: every connected target that takes the type): a kind's name for its default
    target, or a named target such as "maloja"."""

    routes: dict[MediaType, list[str]] = {}


ENV_PREFIX = "SCROBCTL_"
NESTED = "__"


def _merge(low: dict[str, Any], high: dict[str, Any]) -> dict[str, Any]:
    """`high` over `low`, table by table (an env variable sets one field of a file's table)."""
    merged = dict(low)
    for key, value in high.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _env_value(value: str) -> Any:
    """A list or table given as JSON (`SCROBCTL_PROFILES__WORK__ROUTES__TRACK='["lastfm"]'`)."""
    if value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            pass
    return value


def _from_env(fields: set[str]) -> dict[str, Any]:
    """`SCROBCTL_*` variables naming a setting (case does not matter), nested by `__`; others
    (`SCROBCTL_CONFIG`, `SCROBCTL_DEBUG`) are not settings."""
    values: dict[str, Any] = {}
    for name, raw in os.environ.items():
        if not name.upper().startswith(ENV_PREFIX):
            continue
        path = name[len(ENV_PREFIX) :].lower().split(NESTED)
        if path[0] not in fields or not all(path):
            continue
        table = values
        for part in path[:-1]:
            if not isinstance(table.get(part), dict):
                table[part] = {}
            table = table[part]
        value = _env_value(raw)
        if isinstance(value, dict) and isinstance(table.get(path[-1]), dict):
            value = _merge(value, table[path[-1]])
        table[path[-1]] = value
    return values


def _from_file() -> dict[str, Any]:
    import tomllib

    path = paths.config_file()
    if not path.is_file():
        return {}
    with path.open("rb") as fh:
        return tomllib.load(fh)


class Settings(BaseModel):
    """Read from the environment and the TOML file by a plain read of both (no
    pydantic-settings: importing it cost more than `import typer` on every command, issue #25);
    keyword arguments beat both."""

    model_config = {"extra": "forbid"}

    def __init__(self, **values: Any) -> None:
        fields = set(type(self).model_fields)
        super().__init__(**_merge(_merge(_from_file(), _from_env(fields)), values))

    data_dir: Path = Field(default_factory=paths.default_data_dir)
    token_store: Literal["keyring", "file"] = "keyring"
    # Seconds one HTTP request may take in all (connect, headers, body), however the server
    # trickles its answer (issue #16).
    request_deadline: float = Field(60.0, gt=0, le=3600)
    trakt: TraktSettings = TraktSettings()
    simkl: SimklSettings = SimklSettings()
    lastfm: LastfmSettings = LastfmSettings()
    listenbrainz: ListenBrainzSettings = ListenBrainzSettings()
    tmdb: TmdbSettings = TmdbSettings()
    notify: NotifySettings = NotifySettings()
    profiles: dict[str, ProfileSettings] = {}
    targets: dict[str, TargetSettings] = {}

    @field_validator("data_dir", mode="before")
    @classmethod
    def _not_empty(cls, value: object) -> object:
        """An empty SCROBCTL_DATA_DIR would be the current folder: plays and tokens written
        where the next run never looks."""
        if isinstance(value, str | Path) and not str(value).strip():
            raise ValueError("is empty; unset it, or name a folder")
        return value

    @field_validator("data_dir")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        """`~` in the file or a quoted env value means home, as it does for paths.data_dir()."""
        return value.expanduser()


def load_settings() -> Settings:
    """Settings, or a ConfigError naming the bad field and where settings come from."""
    try:
        return Settings()
    except ValidationError as exc:
        # Every problem at once, each with its key and the variable that also sets it.
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"])
            env = "SCROBCTL_" + "__".join(str(p).upper() for p in error["loc"])
            problems.append(f"{where!r} ({env}): {error['msg']}")
        count = "invalid setting" if len(problems) == 1 else f"{len(problems)} invalid settings"
        raise ConfigError(
            f"{count} in {paths.config_file()} or the environment: " + "; ".join(problems),
            "fix them there",
        ) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {paths.config_file()}: {exc}") from None
