"""`scrobctl config`: the settings in effect and where each came from, and changing the file.

Where a setting comes from follows `config.py`'s order: an environment variable
(`SCROBCTL_TRAKT__CLIENT_ID`, or a JSON object in `SCROBCTL_TRAKT`), else the TOML file, else the
default. Credentials are never shown, only whether they are set. `set` and `edit` check the
whole file against the settings model before it replaces the old one (written to a temporary
file first, then renamed, so a crash leaves the old or the new file, never half of one).
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin, get_type_hints

from scrobctl import paths
from scrobctl.config import Settings, as_json, checked
from scrobctl.errors import ConfigError, UsageError

SECRET_FIELDS = frozenset({"client_id", "client_secret", "api_key", "api_secret"})
# Settings that are a table of credentials (targets.NAME.client_secret): shown as set or not.
SECRET_TABLES = frozenset({"targets"})
ENV_PREFIX = "SCROBCTL_"
DEFAULT = "default"
FILE = "file"
ENVIRONMENT = "environment"


@dataclass(frozen=True)
class SettingView:
    key: str  # dotted: trakt.client_id
    value: Any  # None for a secret that is set (never shown)
    secret: bool
    is_set: bool
    source: str  # default | file | environment
    env: str  # the variable that would set it


def _leaves(cls: type, prefix: str = "") -> Iterator[tuple[str, Any]]:
    hints = get_type_hints(cls)
    for f in fields(cls):
        annotation = hints[f.name]
        if is_dataclass(annotation):
            yield from _leaves(annotation, f"{prefix}{f.name}.")  # type: ignore[arg-type]
        else:
            yield f"{prefix}{f.name}", annotation


def known_keys() -> dict[str, Any]:
    """Every setting by dotted key, with its type."""
    return dict(_leaves(Settings))


def env_name(key: str) -> str:
    return ENV_PREFIX + "__".join(part.upper() for part in key.split("."))


def _environment() -> dict[str, str]:
    return {k.upper(): v for k, v in os.environ.items() if k.upper().startswith(ENV_PREFIX)}


def _lookup(data: Any, key: str) -> tuple[bool, Any]:
    for part in key.split("."):
        if not isinstance(data, dict) or part not in data:
            return False, None
        data = data[part]
    return True, data


def read_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None


def show(settings: Settings) -> list[SettingView]:
    """Each setting in effect with where it came from; profiles as one entry."""
    environment = _environment()
    in_file = read_file(paths.config_file())
    effective = as_json(settings)
    views = []
    for key in known_keys():
        variable = env_name(key)
        group = ENV_PREFIX + key.split(".")[0].upper()
        if variable in environment or ("." in key and group in environment):
            source = ENVIRONMENT
        elif _lookup(in_file, key)[0]:
            source = FILE
        else:
            source = DEFAULT
        value = _lookup(effective, key)[1]
        secret = key.rsplit(".", 1)[-1] in SECRET_FIELDS or key in SECRET_TABLES
        views.append(
            SettingView(
                key=key,
                value=None if secret else value,
                secret=secret,
                is_set=value is not None and value != {},
                source=source,
                env=variable,
            )
        )
    return views


def validate(data: dict[str, Any], path: Path) -> None:
    """The file's content against the settings model (environment and defaults aside)."""
    try:
        checked(data)  # validates the file's values only: no sources read
    except ValueError as exc:
        from pydantic import ValidationError  # only a refused value reaches the model

        if not isinstance(exc, ValidationError):
            raise
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"{path}: invalid setting {where!r}: {first['msg']}") from None


def _value_for(annotation: Any, text: str) -> Any:
    """The TOML value for what was typed, by the setting's type."""
    import tomlkit

    kinds = set(get_args(annotation)) if get_origin(annotation) in (Union, UnionType) else set()
    kinds = kinds or {annotation}
    if bool in kinds:
        if text.lower() not in ("true", "false"):
            raise UsageError(f"{text!r} is not true or false")
        return text.lower() == "true"
    if kinds & {int, float}:
        try:
            number = float(text)
        except ValueError:
            raise UsageError(f"{text!r} is not a number") from None
        return int(number) if number.is_integer() and float not in kinds else number
    if annotation in (dict, list) or get_origin(annotation) in (dict, list):
        try:
            return tomlkit.parse(f"v = {text}")["v"]
        except Exception:
            raise UsageError(f"{text!r} is not a TOML value", 'e.g. ["listenbrainz"]') from None
    return text


def _write(path: Path, text: str) -> None:
    """Replace the file at once, readable by its owner only (it may hold app credentials)."""
    from scrobctl import own_files  # only a write needs it

    path.parent.mkdir(parents=True, exist_ok=True)
    own_files.replace(path, text, ".config-", ".toml")


def set_value(key: str, text: str) -> Path:
    """Write one setting into the TOML file, keeping its comments and layout (tomlkit)."""
    import tomlkit

    keys = known_keys()
    parts = key.split(".")
    if len(parts) == 4 and parts[0] == "profiles" and parts[2] == "routes" and parts[1]:
        keys[key] = list  # profiles.NAME.routes.TYPE: the services that get that type
    if len(parts) == 3 and parts[0] == "targets" and parts[1] and parts[2] in SECRET_FIELDS:
        keys[key] = str  # targets.NAME.client_id: a named target's own API app
    if key not in keys:
        near = ", ".join(k for k in keys if k.split(".")[0] == key.split(".")[0]) or ", ".join(keys)
        raise UsageError(f"there is no setting {key!r}", f"settings: {near}")
    path = paths.config_file()
    try:
        document = tomlkit.parse(path.read_text(encoding="utf-8")) if path.is_file() else None
    except Exception as exc:
        raise ConfigError(
            f"cannot read {path}: {exc}", "fix it with `scrobctl config edit`"
        ) from None
    document = document if document is not None else tomlkit.document()
    *groups, name = key.split(".")
    table: Any = document
    for group in groups:
        if group not in table:
            table[group] = tomlkit.table()
        table = table[group]
    table[name] = _value_for(keys[key], text)
    rendered = tomlkit.dumps(document)
    validate(tomllib.loads(rendered), path)
    _write(path, rendered)
    return path


def edit(run_editor: Callable[[Path], int], retry: Callable[[str], bool]) -> bool:
    """Edit a copy of the file; it replaces the file only once it reads as valid settings.
    `retry(error)` says whether to open the editor again on a bad copy. True when saved."""
    path = paths.config_file()
    original = path.read_text(encoding="utf-8") if path.is_file() else ""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=".config-edit-", suffix=".toml")
    copy = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(original)
        while True:
            if run_editor(copy) != 0:
                raise ConfigError("the editor failed; the settings file was left as it was")
            text = copy.read_text(encoding="utf-8")
            if text == original:
                return False
            try:
                validate(tomllib.loads(text), path)
            except tomllib.TOMLDecodeError as exc:
                problem = f"{path} would not be valid TOML: {exc}"
            except ConfigError as exc:
                problem = str(exc)
            else:
                _write(path, text)
                return True
            if not retry(problem):
                raise ConfigError(f"{problem}; the settings file was left as it was")
    finally:
        copy.unlink(missing_ok=True)
