"""The command line as a user meets it: help, version, usage errors, JSON shapes, one-line errors,
and two structural rules (the CLI layer stays thin; importing it stays cheap)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

import scrobctl
import scrobctl.cli
from scrobctl.cli import app
from tests.fakes.listenbrainz import FakeListenBrainz
from tests.helpers import command_paths, json_data, json_error, lookup, run_main

if TYPE_CHECKING:
    from scrobctl.runtime import Runtime

TIMEOUT = 30.0
CLI_DIR = Path(scrobctl.cli.__file__).parent
STATUS_KEYS = {
    "version",
    "data_dir",
    "database",
    "token_store",
    "connections",
    "queue",
    "plays",
    "lacking",
    "imports",
}
HEAVY_MODULES = {
    "httpx",
    "pydantic_settings",
    "sqlite_utils",
    "keyring",
    "rich",
    "aiolimiter",
    *("uvicorn", "starlette", "multipart", "python_multipart"),  # `scrobctl serve` only
    "apprise",
    "mpd",  # `watch mpd` only
}
CLI_FORBIDDEN_IMPORTS = {"httpx", "sqlite3", "sqlite_utils", "keyring"}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def fake_lb() -> Iterator[FakeListenBrainz]:
    with FakeListenBrainz() as fake:
        yield fake  # type: ignore[misc]


def installed_scrobctl() -> Path:
    path = Path(sys.executable).parent / "scrobctl"
    if not path.is_file():
        pytest.fail(f"the installed `scrobctl` console script is missing at {path}", pytrace=False)
    return path


def run_installed(
    *args: str, input: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The installed entry point, so typed errors go through main()'s one-line handler."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [str(installed_scrobctl()), *args],
        input=input,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=TIMEOUT,
        check=False,
    )


# -- help, version -------------------------------------------------------------------------


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(("scrobctl", *p)))
def test_every_command_has_help_and_every_leaf_command_an_example(
    runner: CliRunner, path: tuple[str, ...]
) -> None:
    command = lookup(path)
    help_text = (getattr(command, "help", None) or "").strip()
    assert help_text, f"`scrobctl {' '.join(path)}` has no help text"
    is_group = bool(getattr(command, "commands", None))
    if not is_group:
        assert "Example" in help_text, f"`scrobctl {' '.join(path)}` has no example"

    result = runner.invoke(app, [*path, "--help"])

    assert result.exit_code == 0, result.output
    first_line = " ".join(help_text.splitlines()[0].split())
    assert first_line in " ".join(result.output.split())


def test_version_prints_the_package_version(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--version"])

    assert result.exit_code == 0
    assert result.stdout.strip() == f"scrobctl {scrobctl.__version__}"


def test_installed_version_prints_the_package_version() -> None:
    result = run_installed("--version")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"scrobctl {scrobctl.__version__}"


# -- usage errors --------------------------------------------------------------------------


def test_login_unknown_service_exits_2_and_lists_known_services(runner: CliRunner) -> None:
    result = runner.invoke(app, ["login", "myspace"])

    assert result.exit_code == 2
    assert "myspace" in result.output
    assert "listenbrainz" in result.output


def test_main_turns_a_usage_error_into_exit_2_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = run_main(monkeypatch, capsys, "login", "myspace")

    assert code == 2
    assert "listenbrainz" in err
    assert "Traceback" not in err


def test_login_without_tty_or_token_stdin_is_a_usage_error_naming_token_stdin(
    fake_lb: FakeListenBrainz,
) -> None:
    result = run_installed(
        "login",
        "listenbrainz",
        env={"SCROBCTL_TOKEN_STORE": "file", "SCROBCTL_LISTENBRAINZ__API_URL": fake_lb.url},
    )

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "--token-stdin" in lines[0]
    assert fake_lb.requests == []


@pytest.mark.parametrize("source", ["env", "config-file"])
def test_bad_config_value_exits_2_with_one_line_naming_the_setting(
    source: str, tmp_path: Path
) -> None:
    env: dict[str, str] = {}
    if source == "env":
        env["SCROBCTL_LISTENBRAINZ__API_URL"] = "not a url"
    else:
        Path(os.environ["SCROBCTL_CONFIG"]).write_text(
            '[listenbrainz]\napi_url = "not a url"\n', encoding="utf-8"
        )

    result = run_installed("status", env=env)

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "listenbrainz.api_url" in lines[0]
    assert "SCROBCTL_LISTENBRAINZ__API_URL" in lines[0]


# -- typed errors through the entry point --------------------------------------------------


def test_login_without_usable_keyring_says_to_use_file_token_store(
    fake_lb: FakeListenBrainz,
) -> None:
    # isolated_env selects keyring.backends.fail.Keyring: no Secret Service, as on a server.
    result = run_installed(
        "login",
        "listenbrainz",
        "--token-stdin",
        input="good-token\n",
        env={"SCROBCTL_TOKEN_STORE": "keyring", "SCROBCTL_LISTENBRAINZ__API_URL": fake_lb.url},
    )

    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "SCROBCTL_TOKEN_STORE=file" in lines[0]
    assert "good-token" not in result.stdout + result.stderr


# -- JSON output ---------------------------------------------------------------------------


def test_queue_list_json_on_an_empty_store_prints_no_jobs(runner: CliRunner) -> None:
    result = runner.invoke(app, ["queue", "list", "--json"])

    assert result.exit_code == 0, result.output
    assert json_data(result.stdout) == {
        "jobs": [],
        "left_out": {"completed": 0, "beyond_limit": 0},
    }


def test_status_json_writes_times_in_iso_8601_utc(
    logged_in_trakt: Runtime, monkeypatch: pytest.MonkeyPatch, runner: CliRunner
) -> None:
    """The report is plain dataclasses (issue #25); its times keep the form its pydantic
    model gave them: ISO 8601 in UTC, `Z`."""
    monkeypatch.setenv("SCROBCTL_TOKEN_STORE", "file")
    logged_in_trakt.close()

    result = runner.invoke(app, ["status", "--json"])

    assert result.exit_code == 0, result.output
    [trakt] = json_data(result.stdout)["connections"]
    expires = datetime.fromisoformat(trakt["token_expires_at"])
    assert trakt["token_expires_at"].endswith("Z") and expires.utcoffset() == timedelta(0)
    assert trakt["deferred_until"] is None


def test_status_json_has_the_documented_shape(runner: CliRunner, isolated_env: Path) -> None:
    result = runner.invoke(app, ["status", "--json"])

    assert result.exit_code == 0, result.output
    status = json_data(result.stdout)
    assert set(status) == STATUS_KEYS
    assert status["version"] == scrobctl.__version__
    assert Path(status["data_dir"]) == isolated_env
    assert Path(status["database"]).parent == isolated_env
    assert status["token_store"] == "keyring"
    assert status["connections"] == []
    assert status["queue"] == {}
    assert status["plays"] == 0


def test_json_and_quiet_last_only_for_their_own_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The output switches live in the run's Output, not in module state: a --json or -q run
    leaves the next run in the same process plain and talkative."""
    code, out, _err = run_main(monkeypatch, capsys, "-q", "history", "--since", "someday", "--json")
    assert code == 2 and json_error(out)["exit_code"] == 2

    code, out, err = run_main(monkeypatch, capsys, "history", "--since", "someday")
    assert (code, out) == (2, "")
    assert err.startswith("error: --since 'someday' is not a date; ")

    code, out, err = run_main(monkeypatch, capsys, "queue", "list")
    assert (code, out) == (0, "")
    assert "no pending or failed jobs" in err


# -- structure -----------------------------------------------------------------------------


def imported_modules(path: Path) -> set[str]:
    """Top-level names of every absolute import in a module, at any depth (lazy ones too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("module", sorted(CLI_DIR.glob("*.py")), ids=lambda p: p.name)
def test_cli_modules_do_no_http_sql_or_keyring_themselves(module: Path) -> None:
    assert not imported_modules(module) & CLI_FORBIDDEN_IMPORTS


def loaded_modules(code: str) -> set[str]:
    """Top-level names in sys.modules after running `code` in a fresh interpreter."""
    return {name.split(".")[0] for name in loaded_module_names(code)}


def loaded_module_names(code: str) -> set[str]:
    """Every name in sys.modules after running `code` in a fresh interpreter."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    last_line = result.stdout.strip().splitlines()[-1]
    return set(json.loads(last_line))


def test_importing_the_cli_loads_no_heavy_dependencies() -> None:
    assert not loaded_modules("import scrobctl.cli") & HEAVY_MODULES


def test_empty_flush_through_the_entry_point_loads_no_heavy_dependencies() -> None:
    code = (
        "import sys\n"
        "from importlib.metadata import entry_points\n"
        "[ep] = entry_points(group='console_scripts', name='scrobctl')\n"
        "sys.argv = ['scrobctl', 'flush']\n"
        "try:\n"
        "    ep.load()()\n"
        "except SystemExit as exc:\n"
        "    assert exc.code in (None, 0), exc.code"
    )

    assert not loaded_modules(code) & HEAVY_MODULES


def test_a_flush_without_notify_url_never_imports_apprise(data_dir: Path) -> None:
    """apprise (with requests) is imported only when notify.url is set (issue 17)."""
    code = (
        "import asyncio, sys\n"
        "from scrobctl.cli.context import build_runtime\n"
        "from scrobctl.scrobble.flush import flush\n"
        "runtime = build_runtime()\n"
        "asyncio.run(flush(runtime))\n"
        "runtime.close()\n"
    )

    assert "apprise" not in loaded_modules(code)


def _command_modules(data_dir: Path, *args: str) -> set[str]:
    return {name.split(".")[0] for name in _command_module_names(data_dir, *args)}


def _command_module_names(data_dir: Path, *args: str) -> set[str]:
    code = (
        "import sys\n"
        "from scrobctl.entry import main\n"
        f"sys.argv = ['scrobctl', *{list(args)!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass"
    )
    return loaded_module_names(code)


COMMAND_MODULES = {f"scrobctl.cli.{module}" for module in scrobctl.cli.COMMANDS.values()}


def test_help_imports_no_command_module(data_dir: Path) -> None:
    """`scrobctl --help` lists the commands from cli/listing.py (issue #25)."""
    assert not _command_module_names(data_dir, "--help") & COMMAND_MODULES


@pytest.mark.parametrize(
    ("args", "module"),
    [
        (("history", "--limit", "1000"), "history"),
        (("queue", "list"), "queue"),
        (("explain", "1"), "explain"),
        (("status",), "status"),
        (("history", "--help"), "history"),
    ],
)
def test_a_command_imports_its_own_module_and_no_other_command_module(
    data_dir: Path, args: tuple[str, ...], module: str
) -> None:
    """Each command's module is imported when that command is used, not at start-up."""
    loaded = _command_module_names(data_dir, *args) & COMMAND_MODULES
    assert loaded == {f"scrobctl.cli.{module}"}


@pytest.fixture
def current_archive(data_dir: Path) -> Path:
    """A data folder whose archive is at the current schema (made by a first `status`)."""
    subprocess.run(
        [sys.executable, "-m", "scrobctl", "status"],
        env=dict(os.environ),
        timeout=TIMEOUT,
        check=True,
        capture_output=True,
    )
    return data_dir


@pytest.mark.parametrize(
    "args", [("history", "--limit", "1000"), ("queue", "list"), ("explain", "1")]
)
def test_read_only_commands_import_no_http_no_migrations_and_no_token_store(
    current_archive: Path, args: tuple[str, ...]
) -> None:
    """An archive at the current schema is opened without sqlite-utils, a private token file
    is checked by one stat (scrobctl.tokens is not imported), and nothing loads httpx."""
    loaded = _command_module_names(current_archive, *args)
    assert not loaded & {"httpx", "sqlite_utils", "scrobctl.tokens", "scrobctl.kinds"}


@pytest.mark.parametrize("args", [("history", "--limit", "1000"), ("explain", "1")])
def test_history_and_explain_import_no_sender_record(
    current_archive: Path, args: tuple[str, ...]
) -> None:
    """They name items by store/names.py; the senders' PlayRecord (a slotted dataclass, about
    1 ms to make) stays unbuilt (issue #25)."""
    assert "scrobctl.store.records" not in _command_module_names(current_archive, *args)


def test_explaining_a_play_imports_neither_the_queue_nor_the_ratings_store(
    current_archive: Path,
) -> None:
    """Only an item id (`tmdb:603`) needs sync.rate's parser, which brings both (issue #25)."""
    loaded = _command_module_names(current_archive, "explain", "1")
    assert not loaded & {"scrobctl.sync.rate", "scrobctl.store.queue", "scrobctl.store.ratings"}


def test_every_command_module_registers_the_commands_it_is_listed_for() -> None:
    """COMMANDS says which module to import for a name: each module's `register` adds exactly
    the names listed for it, so none is unreachable and none is imported for nothing."""
    import importlib

    import typer

    for module in sorted(set(scrobctl.cli.COMMANDS.values())):
        holder = typer.Typer()
        importlib.import_module(f"scrobctl.cli.{module}").register(holder)
        names = set(typer.main.get_group(holder).commands)
        assert names == {n for n, m in scrobctl.cli.COMMANDS.items() if m == module}, module


@pytest.mark.parametrize("width", [40, 80, 200])
def test_root_help_lists_each_command_as_its_own_help_would(width: int) -> None:
    """The listing from cli/listing.py is what Typer's group makes from the commands
    themselves, at any terminal width."""
    import typer
    from typer._click import Context, HelpFormatter
    from typer.core import TyperGroup

    group = typer.main.get_command(app)
    ctx = Context(group, info_name="scrobctl")
    lazy, built = HelpFormatter(width=width), HelpFormatter(width=width)

    group.format_commands(ctx, lazy)
    TyperGroup.format_commands(group, ctx, built)  # loads every command and asks it

    assert lazy.getvalue() == built.getvalue()


def test_help_builds_no_pydantic_adapter(data_dir: Path) -> None:
    """Typer's automatic --help option has no value to convert (issue #25: the adapter Typer
    would build for it imported pydantic, ~110 ms)."""
    assert "pydantic" not in _command_modules(data_dir, "--help")


@pytest.mark.parametrize(
    "args",
    [("status",), ("history", "--limit", "1000"), ("queue", "list"), ("stats",), ("doctor",)],
)
def test_everyday_commands_load_neither_rich_nor_pydantic_settings(
    data_dir: Path, args: tuple[str, ...]
) -> None:
    """Tables are plain aligned text and settings a plain read of env and file (issue #25)."""
    assert not _command_modules(data_dir, *args) & {"rich", "pydantic_settings", "asyncio"}


def test_explain_prints_without_rich(data_dir: Path) -> None:
    """explain's lines and its targets' table are plain text (cli/table.py), issue #25; an
    event for an item not seen yet is explained in lines of its own."""
    event = '{"type": "movie", "percentage": 95, "duration_ms": 6000000, "ids": {"tmdb": 603}}'
    code = (
        "import io, sys\n"
        "from scrobctl.entry import main\n"
        f"sys.stdin = io.StringIO({event!r})\n"
        "sys.argv = ['scrobctl', 'explain', '-']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exc:\n"
        "    assert exc.code in (None, 0), exc.code"
    )
    assert "rich" not in loaded_modules(code)


def test_a_piped_event_is_checked_and_queued_without_pydantic(data_dir: Path) -> None:
    """The event model is scrobctl's own checks (issue #25: importing pydantic and building
    the schema cost more than `import typer` per piped event): parsing a valid event and
    queuing it through the ingest imports no pydantic. (The command also reads the settings,
    config.py's concern.)"""
    event = {"type": "track", "title": "Hurt", "artist": "Johnny Cash", "watched_ms": 240_000}
    raw = json.dumps(event).encode() + b"\n"
    code = (
        "import io, os\n"
        "from pathlib import Path\n"
        "from scrobctl.scrobble.enqueue import Ingest\n"
        "from scrobctl.scrobble.events import read_events_and_pauses\n"
        "from scrobctl.store import open_store\n"
        "store = open_store(Path(os.environ['SCROBCTL_DATA_DIR']) / 'scrobctl.db')\n"
        f"lines = read_events_and_pauses(io.BytesIO({raw!r}))\n"
        "summary = Ingest(store, {'default': {'track': ['listenbrainz']}}).run(lines)\n"
        "assert summary.queued == 1, summary"
    )
    assert not loaded_modules(code) & {"pydantic", "pydantic_core"}


@pytest.mark.parametrize("args", [("history",), ("queue", "list"), ("explain", "1")])
def test_read_only_commands_never_build_the_settings_model(
    data_dir: Path, args: tuple[str, ...]
) -> None:
    """They find the archive by a plain read of env and file (Command(read_only=True), issue
    #25): no pydantic at all."""
    assert "pydantic" not in _command_modules(data_dir, *args)


@pytest.mark.parametrize("args", [("status",), ("status", "--json"), ("doctor",), ("stats",)])
def test_status_doctor_and_stats_load_no_pydantic_httpx_or_keyring(
    logged_in_listenbrainz: Runtime, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    """The settings are a plain read into dataclasses (pydantic only for a value it must
    convert or reject), the status report is a dataclass, and with the tokens in the file
    store nothing imports the keyring or the HTTP side (issue #25)."""
    monkeypatch.setenv("SCROBCTL_TOKEN_STORE", "file")
    logged_in_listenbrainz.close()

    loaded = _command_modules(logged_in_listenbrainz.data_dir, *args)

    assert not loaded & {"pydantic", "pydantic_core", "httpx", "keyring"}


def test_command_modules_evaluate_their_annotations() -> None:
    """Typer reads every command's signature to build the CLI at each start-up; string
    annotations (`from __future__ import annotations`) made it compile and evaluate each one
    (issue #25). A module that registers a command keeps plain annotations."""
    lazy = []
    for path in sorted(CLI_DIR.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        future = any(
            isinstance(n, ast.ImportFrom)
            and n.module == "__future__"
            and any(a.name == "annotations" for a in n.names)
            for n in tree.body
        )
        commands = "typer.Option(" in ast.unparse(tree) or "typer.Argument(" in ast.unparse(tree)
        if future and commands:
            lazy.append(path.name)
    assert not lazy


def test_read_only_command_with_an_unreadable_config_file_says_so(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broken file might name another folder: the settings model reports it, and the
    default folder is not read in its place."""
    config = tmp_path / "broken.toml"
    config.write_text('data_dir = "/somewhere\n')
    monkeypatch.setenv("SCROBCTL_CONFIG", str(config))
    monkeypatch.delenv("SCROBCTL_DATA_DIR")

    result = subprocess.run(
        [sys.executable, "-m", "scrobctl", "history"],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=TIMEOUT,
        check=False,
    )

    assert result.returncode == 2, result.stdout + result.stderr
    assert str(config) in result.stderr


def test_cli_annotations_never_name_a_type_imported_only_for_type_checking() -> None:
    """CLI modules evaluate their annotations (no `from __future__ import annotations`, so that
    Typer need not compile them, issue #25): a TYPE_CHECKING-only name must be quoted, or the
    command fails with NameError when it runs (a nested function's annotations included)."""
    found = []
    for path in sorted((Path(scrobctl.cli.__file__).parent).glob("*.py")):
        tree = ast.parse(path.read_text())
        if any(isinstance(n, ast.ImportFrom) and n.module == "__future__" for n in tree.body):
            continue
        only_typing = {
            (alias.asname or alias.name).split(".")[0]
            for node in tree.body
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for sub in ast.walk(node)
            if isinstance(sub, ast.Import | ast.ImportFrom)
            for alias in sub.names
        }
        for node in ast.walk(tree):
            annotations = []
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                args = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
                annotations = [a.annotation for a in args if a.annotation] + [node.returns]
            elif isinstance(node, ast.ClassDef):
                annotations = [s.annotation for s in node.body if isinstance(s, ast.AnnAssign)]
            for annotation in annotations:
                for name in ast.walk(annotation) if annotation else ():
                    if isinstance(name, ast.Name) and name.id in only_typing:
                        found.append(f"{path.name}:{getattr(node, 'lineno', 0)} {name.id}")
    assert not found


def test_serve_flush_every_logs_each_target_as_flush_prints_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from scrobctl.cli.serve import _flushed
    from scrobctl.scrobble.flush import FlushReport, ServiceReport

    _flushed(
        FlushReport(
            [
                ServiceReport("listenbrainz", "default", sent=3, requests=1, already_there=1),
                ServiceReport("trakt", "work", reconnect="run `scrobctl login trakt` again"),
            ]
        )
    )

    assert capsys.readouterr().err.splitlines() == [
        "flush: listenbrainz: 3 sent in 1 request, 1 already there",
        "flush: trakt (work): run `scrobctl login trakt` again",
    ]
