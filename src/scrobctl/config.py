"""Settings: env `SCROBCTL_*` (nested with `__`), then the TOML file, then defaults.

The lookup order, highest first:
1. environment variables (`SCROBCTL_TRAKT__CLIENT_ID=...`);
2. the TOML file at `SCROBCTL_CONFIG`, or `<user_config_dir>/config.toml`;
3. the defaults below.

The settings are plain dataclasses, read without pydantic when every value is plainly what its
field takes (strings, booleans, numbers within their bounds, URLs already written as pydantic
writes them): importing pydantic and building a model cost more than `import typer` on every
command (issue #25). Anything else (a value to convert or normalise, or a mistake) is checked
by a pydantic model made from these same dataclasses (`_model`), so the values and the messages
users see are pydantic's, as they were.
"""

from __future__ import annotations

import os
import re
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from pathlib import Path
from types import NoneType, UnionType
from typing import TYPE_CHECKING, Any, Literal, Union, get_args, get_origin, get_type_hints

from scrobctl import paths
from scrobctl.errors import ConfigError

if TYPE_CHECKING:
    from pydantic import BaseModel


class Url(str):
    """An http(s) URL, written as pydantic's `HttpUrl` writes one (`https://host/`)."""

    __slots__ = ()


# The services' documented addresses, as pydantic's HttpUrl writes them.
TRAKT_API = Url("https://api.trakt.tv/")
TRAKT_AUTH = Url("https://auth.trakt.tv/")
SIMKL_API = Url("https://api.simkl.com/")
LASTFM_API = Url("https://ws.audioscrobbler.com/2.0/")
LASTFM_AUTH = Url("https://www.last.fm/api/auth/")
LISTENBRAINZ_API = Url("https://api.listenbrainz.org/")
TMDB_API = Url("https://api.themoviedb.org/")


def _limits(default: float, description: str | None = None, **bounds: float) -> Any:
    """A number field with its bounds (`gt`, `ge`, `le`), checked on both paths."""
    return field(default=default, metadata={"description": description, **bounds})


@dataclass
class TraktSettings:
    client_id: str | None = None
    client_secret: str | None = None
    api_url: Url = TRAKT_API
    auth_url: Url = TRAKT_AUTH


@dataclass
class SimklSettings:
    client_id: str | None = None
    api_url: Url = SIMKL_API


@dataclass
class LastfmSettings:
    api_key: str | None = None
    api_secret: str | None = None
    api_url: Url = LASTFM_API
    auth_url: Url = LASTFM_AUTH
    podcasts: bool = False
    love_threshold: float = _limits(8.0, "ratings at or above are loved", ge=1, le=10)


@dataclass
class ListenBrainzSettings:
    api_url: Url = LISTENBRAINZ_API
    podcasts: bool = field(
        default=False, metadata={"description": "also send podcast plays (off: LB is for music)"}
    )
    love_threshold: float = _limits(8.0, "ratings at or above: +1", ge=1, le=10)
    hate_threshold: float = _limits(3.0, "ratings at or below: -1", ge=1, le=10)


@dataclass
class TmdbSettings:
    api_key: str | None = None
    api_url: Url = TMDB_API


@dataclass
class NotifySettings:
    """Where to tell the user about problems nobody is watching for (cron): an Apprise URL
    (ntfy://, gotify://, mailto://, dbus://, json://, ...; https://github.com/caronc/apprise)."""

    url: str | None = field(
        default=None, metadata={"description": "Apprise URL; several separated by spaces"}
    )


MediaType = Literal["track", "podcast", "movie", "episode"]
ServiceName = Literal["trakt", "simkl", "lastfm", "listenbrainz"]


@dataclass
class TargetSettings:
    """A named target's own API app (issue #19): a Trakt or Simkl target at a URL of its own
    (Trakt's staging API) is registered there, not with the kind's app. Unset: asked at login
    and kept in the token store."""

    client_id: str | None = None
    client_secret: str | None = None


@dataclass
class ProfileSettings:
    """Per-profile choices. `routes` names, per media type, the targets that get its plays
    (default: every connected target that takes the type): a kind's name for its default
    target, or a named target such as "maloja"."""

    routes: dict[MediaType, list[str]] = field(default_factory=dict)


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
        import json  # only for such a value (json's import: ~1 ms of every start-up)

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


def file_values() -> dict[str, Any]:
    """The TOML file's tables as read; an absent or empty file holds none (and costs no
    parser: importing tomllib is about 1.5 ms of every start-up)."""
    path = paths.config_file()
    if not path.is_file() or path.stat().st_size == 0:
        return {}
    import tomllib

    with path.open("rb") as fh:
        return tomllib.load(fh)


@dataclass(init=False)
class Settings:
    """Read from the environment and the TOML file by a plain read of both (no
    pydantic-settings: importing it cost more than `import typer` on every command, issue #25);
    keyword arguments beat both. A bad value raises pydantic's ValidationError."""

    data_dir: Path = field(default_factory=paths.default_data_dir)
    token_store: Literal["keyring", "file"] = "keyring"
    # Seconds one HTTP request may take in all (connect, headers, body), however the server
    # trickles its answer (issue #16).
    request_deadline: float = _limits(60.0, gt=0, le=3600)
    trakt: TraktSettings = field(default_factory=TraktSettings)
    simkl: SimklSettings = field(default_factory=SimklSettings)
    lastfm: LastfmSettings = field(default_factory=LastfmSettings)
    listenbrainz: ListenBrainzSettings = field(default_factory=ListenBrainzSettings)
    tmdb: TmdbSettings = field(default_factory=TmdbSettings)
    notify: NotifySettings = field(default_factory=NotifySettings)
    profiles: dict[str, ProfileSettings] = field(default_factory=dict)
    targets: dict[str, TargetSettings] = field(default_factory=dict)

    def __init__(self, **values: Any) -> None:
        names = {f.name for f in fields(Settings)}
        data = _merge(_merge(file_values(), _from_env(names)), values)
        vars(self).update(vars(checked(data)))


def _not_empty(value: object) -> object:
    """An empty SCROBCTL_DATA_DIR would be the current folder: plays and tokens written
    where the next run never looks."""
    if isinstance(value, str | Path) and not str(value).strip():
        raise ValueError("is empty; unset it, or name a folder")
    return value


def _expand_home(value: Path) -> Path:
    """`~` in the file or a quoted env value means home, as it does for paths.data_dir()."""
    return value.expanduser()


def checked(data: dict[str, Any]) -> Settings:
    """Settings from these values alone (no environment or file read): a plain read when
    every value is plainly right, else pydantic's (its conversions, or its ValidationError)."""
    try:
        return _plain(Settings, data)
    except _NotPlain:
        return validated(data)


def validated(data: dict[str, Any]) -> Settings:
    """Settings from these values by the pydantic model alone: what `checked` does for any
    value its plain read does not vouch for."""
    return _from_model(_model(Settings).model_validate(data))


def as_json(value: Any) -> Any:
    """Settings as JSON values (paths and URLs as text), as pydantic's `model_dump(mode="json")`
    wrote them."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: as_json(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_json(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Url):
        return str(value)
    return value


def _new(cls: type, values: dict[str, Any]) -> Any:
    """An instance of a settings dataclass holding `values` (Settings' own `__init__` reads
    the sources, so no `__init__` is called)."""
    instance = object.__new__(cls)
    vars(instance).update(values)
    return instance


def _default(f: Any) -> Any:
    return f.default_factory() if f.default_factory is not MISSING else f.default


# -- the plain read ------------------------------------------------------------------------


class _NotPlain(Exception):
    """A value the plain read does not vouch for: pydantic decides."""


# What pydantic's HttpUrl leaves as it is: a lowercase scheme and host (a name whose last label
# starts with a letter, or a dotted quad), a port that is not the scheme's default, and a path
# of plain characters without `.` or `..` segments (none: `/`); nothing after it.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_HOST = rf"(?:[a-z0-9-]+\.)*[a-z][a-z0-9-]*|(?:{_OCTET}\.){{3}}{_OCTET}"
_CANONICAL_URL = (  # patterns compiled on first use (re caches them): not at start-up
    rf"(?P<scheme>https?)://(?:{_HOST})(?::(?P<port>[1-9][0-9]{{0,4}}))?(?P<path>/[A-Za-z0-9._~/-]*)?"
)
_NUMBER = r"[0-9]+(?:\.[0-9]+)?"


def _url(value: object) -> Url:
    match = re.fullmatch(_CANONICAL_URL, value) if isinstance(value, str) else None
    if match is None or len(value) > 2083 or "xn--" in value:  # type: ignore[arg-type]
        raise _NotPlain
    port, path = match["port"], match["path"] or "/"
    default_port = "443" if match["scheme"] == "https" else "80"
    if port is not None and (int(port) > 65535 or port == default_port):
        raise _NotPlain
    if any(part in (".", "..") for part in path.split("/")) or "//" in path:
        raise _NotPlain
    return Url(value if match["path"] else f"{value}/")


def _number(value: object, bounds: dict[str, Any]) -> float:
    real = isinstance(value, int | float) and not isinstance(value, bool)
    if not (real or (isinstance(value, str) and re.fullmatch(_NUMBER, value))):
        raise _NotPlain
    number = float(value)  # type: ignore[arg-type]
    gt, ge, le = bounds.get("gt"), bounds.get("ge"), bounds.get("le")
    if (
        (gt is not None and not number > gt)
        or (ge is not None and not number >= ge)
        or (le is not None and not number <= le)
    ):
        raise _NotPlain
    return number


def _plain_value(hint: Any, value: object, bounds: dict[str, Any]) -> Any:
    origin = get_origin(hint)
    if hint is Url:
        return _url(value)
    if is_dataclass(hint):
        if isinstance(value, dict):
            return _plain(hint, value)  # type: ignore[arg-type]
    elif origin is Literal:
        if isinstance(value, str) and value in get_args(hint):
            return value
    elif origin in (Union, UnionType):
        options = [a for a in get_args(hint) if a is not NoneType]
        if value is None and NoneType in get_args(hint):
            return None
        if len(options) == 1:
            return _plain_value(options[0], value, bounds)
    elif origin is dict:
        key, item = get_args(hint)
        if isinstance(value, dict):
            return {_plain_value(key, k, {}): _plain_value(item, v, {}) for k, v in value.items()}
    elif origin is list:
        if isinstance(value, list):
            return [_plain_value(get_args(hint)[0], v, {}) for v in value]
    elif hint is str:
        if isinstance(value, str):
            return value
    elif hint is bool:
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return value == "true"
    elif hint is float:
        return _number(value, bounds)
    elif hint is Path and isinstance(value, str | Path) and str(value).strip():
        return _expand_home(Path(value))
    raise _NotPlain


def _plain(cls: type, data: dict[str, Any]) -> Any:
    hints = _hints(cls)
    names = {f.name for f in fields(cls)}
    if not data.keys() <= names:
        raise _NotPlain
    values = {}
    for f in fields(cls):
        if f.name in data:
            values[f.name] = _plain_value(hints[f.name], data[f.name], dict(f.metadata))
        else:
            values[f.name] = _default(f)
    return _new(cls, values)


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = get_type_hints(cls)
    return _HINTS[cls]


# -- the pydantic check --------------------------------------------------------------------

_MODELS: dict[type, type[BaseModel]] = {}
_DATACLASSES: dict[type, type] = {}


def _model(cls: type) -> type[BaseModel]:
    """The pydantic model of a settings dataclass: the same fields, defaults and bounds, extra
    keys forbidden, URLs as `HttpUrl`, and the data folder's checks."""
    if cls in _MODELS:
        return _MODELS[cls]
    from pydantic import ConfigDict, Field, create_model, field_validator

    hints = _hints(cls)
    definitions: dict[str, Any] = {}
    for f in fields(cls):
        extra = {k: v for k, v in f.metadata.items() if v is not None}
        if f.default_factory is not MISSING:
            info = Field(default_factory=f.default_factory, **extra)
        else:
            info = Field(f.default, **extra)
        definitions[f.name] = (_pydantic_type(hints[f.name]), info)
    validators = {}
    if cls is Settings:
        validators = {
            "not_empty": field_validator("data_dir", mode="before")(_not_empty),
            "expand_home": field_validator("data_dir")(_expand_home),
        }
    model = create_model(  # type: ignore[call-overload]
        cls.__name__,
        __config__=ConfigDict(extra="forbid"),
        __validators__=validators,
        **definitions,
    )
    _MODELS[cls], _DATACLASSES[model] = model, cls
    return model


def _pydantic_type(hint: Any) -> Any:
    from pydantic import HttpUrl

    if hint is Url:
        return HttpUrl
    if is_dataclass(hint):
        return _model(hint)  # type: ignore[arg-type]
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, UnionType):
        return Union[tuple(_pydantic_type(a) for a in args)]  # noqa: UP007
    if origin in (dict, list):
        return origin[tuple(_pydantic_type(a) for a in args)]
    return hint


def _from_model(value: Any) -> Any:
    """pydantic's validated values as the settings dataclasses (URLs as `Url`)."""
    cls = _DATACLASSES.get(type(value))
    if cls is not None:
        return _new(
            cls, {name: _from_model(getattr(value, name)) for name in type(value).model_fields}
        )
    if isinstance(value, dict):
        return {k: _from_model(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_model(v) for v in value]
    from pydantic import AnyUrl

    if isinstance(value, AnyUrl):
        return Url(str(value))
    return value


def load_settings() -> Settings:
    """Settings, or a ConfigError naming the bad field and where settings come from."""
    try:
        return Settings()
    except ValueError as exc:
        from pydantic import ValidationError  # imported only on this path, as the model was

        if not isinstance(exc, ValidationError):  # TOML that cannot be read
            raise ConfigError(f"cannot read {paths.config_file()}: {exc}") from None
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
    except OSError as exc:
        raise ConfigError(f"cannot read {paths.config_file()}: {exc}") from None
