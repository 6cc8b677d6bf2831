"""Shell completions: generated from the CLI, current, and loadable by each shell."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scrobctl.cli import app
from scrobctl.cli.completion import FILE_NAMES, Shell, install_path, script

ROOT = Path(__file__).resolve().parent.parent
COMPLETIONS = ROOT / "completions"


@pytest.mark.parametrize("shell", list(Shell))
def test_completion_files_match_the_cli(shell: Shell) -> None:
    written = (COMPLETIONS / FILE_NAMES[shell]).read_text(encoding="utf-8")
    assert written == script(shell), "run `python scripts/generate_completions.py`"


def _bash_complete(*words: str) -> list[str]:
    line = " ".join(f'"{w}"' for w in words)
    program = (
        f"source {COMPLETIONS / 'scrobctl.bash'}; COMP_WORDS=({line}); "
        'COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _scrobctl; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    out = subprocess.run(["bash", "-c", program], capture_output=True, text=True, check=True)
    return [w for w in out.stdout.splitlines() if w]


def test_bash_completion_registers_for_scrobctl() -> None:
    out = subprocess.run(
        ["bash", "-c", f"source {COMPLETIONS / 'scrobctl.bash'}; complete -p scrobctl"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0
    assert "_scrobctl" in out.stdout


def test_bash_completion_offers_commands() -> None:
    assert {"login", "logout", "flush", "scrobble", "status"} <= set(_bash_complete("scrobctl", ""))


def test_bash_completion_offers_services_after_login() -> None:
    assert set(_bash_complete("scrobctl", "login", "l")) == {"lastfm", "listenbrainz"}


def test_bash_completion_offers_states_for_queue_list_state() -> None:
    assert "discarded" in _bash_complete("scrobctl", "queue", "list", "--state", "")


def _run_shell(shell: str, program: str) -> subprocess.CompletedProcess[str]:
    if shutil.which(shell) is None:
        message = f"{shell} is not installed (.ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return subprocess.run([shell, "-c", program], capture_output=True, text=True, timeout=30)


def test_zsh_completion_loads() -> None:
    out = _run_shell(
        "zsh",
        f"autoload -U compinit; compinit -u; source {COMPLETIONS / '_scrobctl'}; "
        "whence -w _scrobctl",
    )
    assert out.returncode == 0, out.stderr
    assert "_scrobctl: function" in out.stdout


def test_fish_completion_loads_and_completes() -> None:
    out = _run_shell(
        "fish", f"source {COMPLETIONS / 'scrobctl.fish'}; complete -C 'scrobctl queue l'"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("list")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    return tmp_path


def test_completion_install_writes_the_script_for_the_named_shell(home: Path) -> None:
    result = CliRunner().invoke(app, ["completion", "install", "fish"])
    assert result.exit_code == 0, result.output
    target = install_path(Shell.fish, home)
    assert target == home / ".config/fish/completions/scrobctl.fish"
    assert target.read_text(encoding="utf-8") == script(Shell.fish)


def test_completion_install_detects_the_shell_from_shell_env(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHELL", "/bin/bash")
    result = CliRunner().invoke(app, ["completion", "install"])
    assert result.exit_code == 0, result.output
    assert (home / ".local/share/bash-completion/completions/scrobctl").exists()


def test_completion_install_without_a_known_shell_is_a_usage_error(tmp_path: Path) -> None:
    out = subprocess.run(
        [str(Path(sys.executable).parent / "scrobctl"), "completion", "install"],
        capture_output=True,
        text=True,
        env={"HOME": str(tmp_path), "SHELL": "/bin/tcsh", "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 2
    assert "bash, zsh or fish" in out.stderr
