"""Where scrobctl keeps its files, resolved without pydantic.

Start-up matters (cron, player hooks, tab completion), and pydantic-settings alone costs ~200 ms, so
commands that only need the data folder (an empty `flush`) resolve it here. The precedence is the
same as `Settings` (env, then config file, then platformdirs); a test keeps the two in step.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "scrobctl"
DB_NAME = "scrobctl.db"
FLUSH_LOCK_NAME = "flush.lock"
TOKEN_FILE_NAME = "tokens.json"


def default_data_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def config_file() -> Path:
    explicit = os.environ.get("SCROBCTL_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "config.toml"


def missing_config() -> Path | None:
    """The file SCROBCTL_CONFIG names when it does not exist (one stat): a typo there would
    otherwise leave every setting of that file silently unused (issue 17)."""
    explicit = os.environ.get("SCROBCTL_CONFIG")
    if not explicit:
        return None
    path = Path(explicit).expanduser()
    return None if path.exists() else path


def data_dir() -> Path:
    """The data folder by the Settings precedence, reading only what it needs: a blank
    SCROBCTL_DATA_DIR is an error; a config file only the settings model can read gives the
    default folder here (the settings report what is wrong with it)."""
    from_env = os.environ.get("SCROBCTL_DATA_DIR")
    if from_env is not None and not from_env.strip():
        from scrobctl.errors import ConfigError

        # Not the current folder: plays and tokens would land where the next run never looks.
        raise ConfigError("SCROBCTL_DATA_DIR is set but empty", "unset it, or set it to a folder")
    return plain_data_dir() or default_data_dir()


def plain_data_dir() -> Path | None:
    """The data folder the settings would name, read plainly (the environment, then the config
    file's `data_dir`, then the default), or None when only the settings model can say: a blank
    SCROBCTL_DATA_DIR, a config file that is not readable TOML, a `data_dir` that is not a
    non-empty string. The config file is read once."""
    from_env = os.environ.get("SCROBCTL_DATA_DIR")
    if from_env is not None:
        return Path(from_env).expanduser() if from_env.strip() else None
    path = config_file()
    if not path.is_file():
        return default_data_dir()
    import tomllib

    try:
        with path.open("rb") as fh:
            value = tomllib.load(fh).get("data_dir")
    except (OSError, tomllib.TOMLDecodeError):
        return None
    if value is None:
        return default_data_dir()
    return Path(value).expanduser() if isinstance(value, str) and value.strip() else None


def exposed_mode(path: Path) -> int | None:
    """The mode of a token file that others may read or write, else None (here, not in
    tokens.py, so that every command can ask without importing the token stores)."""
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        return None
    return mode if mode & 0o077 else None


def token_file_private(folder: Path) -> bool:
    """False while the folder's tokens.json is readable by others. The empty-flush fast paths
    ask this so that they, too, fall through to the command that says so (issue 16)."""
    return exposed_mode(folder / TOKEN_FILE_NAME) is None


def ensure_private_dir(path: Path) -> Path:
    """Create the data folder readable by its owner only: it holds the history and maybe tokens."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def import_lock(data_dir: Path, profile: str, service: str) -> Path:
    """Held by the process importing a service's history; `status` tells a live "running"
    import from a killed one by it (here, not in sync/importer: status must not import the
    HTTP side to find it, issue #25)."""
    return data_dir / "locks" / f"import-{profile}-{service}.lock"
