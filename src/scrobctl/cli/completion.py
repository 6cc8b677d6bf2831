"""Shell completions generated from the Typer app, and `scrobctl completion install|show`.

The scripts are static: they know every command, option and choice, so pressing Tab never
starts Python (completion that calls back into the CLI would cost its whole start-up per Tab).
`scripts/generate_completions.py` writes them to completions/; a test keeps them current.
"""

import os
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from scrobctl.cli.output import output

app = typer.Typer(help="Shell completion for bash, zsh and fish.", no_args_is_help=True)
HEADER = "scrobctl completion script, generated from the CLI; do not edit (see completions/)"


class Shell(StrEnum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


FILE_NAMES = {Shell.bash: "scrobctl.bash", Shell.zsh: "_scrobctl", Shell.fish: "scrobctl.fish"}


@dataclass
class Opt:
    names: list[str]
    takes_value: bool
    choices: list[str]
    help: str


@dataclass
class Node:
    path: tuple[str, ...]
    help: str
    options: list[Opt] = field(default_factory=list)
    arg_choices: list[str] = field(default_factory=list)
    children: dict[str, "Node"] = field(default_factory=dict)

    def walk(self) -> list["Node"]:
        nodes = [self]
        for child in self.children.values():
            nodes.extend(child.walk())
        return nodes


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""


def _choices(param: Any) -> list[str]:
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is not None and descriptor.is_choice:
        return [str(c) for c in descriptor.choices]
    return []


def tree() -> Node:
    """The command tree of the real app: commands, options, choices."""
    import typer.main

    from scrobctl.cli import app as root_app

    def build(command: Any, path: tuple[str, ...]) -> Node:
        node = Node(path, _first_line(command.help))
        for param in command.params:
            if getattr(param, "hidden", False):
                continue
            if param.param_type_name == "option":
                names = [*param.opts, *param.secondary_opts]
                takes = not getattr(param, "is_flag", False)
                node.options.append(Opt(names, takes, _choices(param), _first_line(param.help)))
            else:
                node.arg_choices.extend(_choices(param))
        node.options.append(Opt(["--help"], False, [], "Show help and exit."))
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            node.children[name] = build(sub, (*path, name))
        return node

    return build(typer.main.get_command(root_app), ())


def _words(items: list[str]) -> str:
    return " ".join(items)


def _find_path(nodes: list[Node], words: str, first: int, current: str) -> list[str]:
    """What bash and zsh write alike: set $path to the command the words before the cursor
    name, then open the `case` that answers an option's value by "$path|$prev"."""
    known = "|".join(f'"{" ".join(n.path)}"' for n in nodes if n.path)
    return [
        f"    for ((i = {first}; i < {current}; i++)); do",
        f'        next="${{path:+$path }}${{{words}[i]}}"',
        '        case "$next" in',
        f'            ({known}) path="$next" ;;',
        "        esac",
        "    done",
        '    case "$path|$prev" in',
    ]


def _value_arms(nodes: list[Node], answer: Callable[[Opt], str]) -> list[str]:
    """The arms of the "$path|$prev" case: one per option that takes a value."""
    arms = []
    for node in nodes:
        for opt in node.options:
            if opt.takes_value:
                keys = "|".join(f'"{" ".join(node.path)}|{name}"' for name in opt.names)
                arms.append(f"        ({keys}) {answer(opt)}; return ;;")
    return [*arms, "    esac"]


def _command_case(nodes: list[Node], offer: Callable[[Node], str]) -> list[str]:
    """`case "$path"`: one arm per command, offering what may follow it."""
    arms = [f'        ("{" ".join(n.path)}") {offer(n)} ;;' for n in nodes]
    return ['    case "$path" in', *arms, "    esac"]


def _bash_value(opt: Opt) -> str:
    if opt.choices:
        return f'COMPREPLY=($(compgen -W "{_words(opt.choices)}" -- "$cur"))'
    if "--file" in opt.names:
        return 'COMPREPLY=($(compgen -f -- "$cur"))'
    return "COMPREPLY=($())"  # a free value: nothing to offer


def _bash_words(node: Node) -> str:
    words = [*node.children, *node.arg_choices] + [n for o in node.options for n in o.names]
    return f'words="{_words(words)}"'


def bash(root: Node) -> list[str]:
    nodes = root.walk()
    return [
        f"# {HEADER}",
        "_scrobctl() {",
        '    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"',
        '    local path="" i next',
        *_find_path(nodes, "COMP_WORDS", 1, "COMP_CWORD"),
        *_value_arms(nodes, _bash_value),
        '    local words=""',
        *_command_case(nodes, _bash_words),
        '    COMPREPLY=($(compgen -W "$words" -- "$cur"))',
        "}",
        "complete -F _scrobctl scrobctl",
        "",
    ]


def _zsh_quote(text: str) -> str:
    return text.replace("'", "'\\''").replace(":", "\\:")


def _zsh_value(opt: Opt) -> str:
    if opt.choices:
        return f"compadd -- {_words(opt.choices)}"
    return "_files" if "--file" in opt.names else "_message 'value'"


def _zsh_describe(node: Node) -> str:
    described = [
        f"'{_zsh_quote(name)}:{_zsh_quote(child.help)}'" for name, child in node.children.items()
    ] + [f"'{_zsh_quote(c)}'" for c in node.arg_choices]
    options = [f"'{_zsh_quote(n)}:{_zsh_quote(o.help)}'" for o in node.options for n in o.names]
    body = []
    if described:
        body.append(f"local -a items=({' '.join(described)}); _describe 'command' items")
    body.append(f"local -a opts=({' '.join(options)}); _describe 'option' opts")
    return "; ".join(body)


def zsh(root: Node) -> list[str]:
    nodes = root.walk()
    return [
        "#compdef scrobctl",
        f"# {HEADER}",
        "_scrobctl() {",
        '    local path="" next i prev="${words[CURRENT-1]}"',
        *_find_path(nodes, "words", 2, "CURRENT"),
        *_value_arms(nodes, _zsh_value),
        *_command_case(nodes, _zsh_describe),
        "}",
        'if [[ "${zsh_eval_context[-1]}" == loadautofunc ]]; then',
        '    _scrobctl "$@"',
        "else",
        "    compdef _scrobctl scrobctl",
        "fi",
        "",
    ]


def fish(root: Node) -> list[str]:
    lines = [f"# {HEADER}", "complete -c scrobctl -f"]
    for node in root.walk():
        here = _fish_condition(root, node)
        for name, child in node.children.items():
            lines.append(
                f"complete -c scrobctl -n {shlex.quote(here)} -a {shlex.quote(name)}"
                f" -d {shlex.quote(child.help)}"
            )
        if node.arg_choices:
            choices = shlex.quote(_words(node.arg_choices))
            lines.append(f"complete -c scrobctl -n {shlex.quote(here)} -a {choices}")
        for opt in node.options:
            flags = []
            for name in opt.names:
                flags.append(f"-l {name[2:]}" if name.startswith("--") else f"-s {name[1:]}")
            extra = ""
            if opt.choices:
                extra = f" -x -a {shlex.quote(_words(opt.choices))}"
            elif "--file" in opt.names:
                extra = " -r -F"
            elif opt.takes_value:
                extra = " -x"
            lines.append(
                f"complete -c scrobctl -n {shlex.quote(here)} {' '.join(flags)}{extra}"
                f" -d {shlex.quote(opt.help)}"
            )
    lines.append("")
    return lines


def _fish_condition(root: Node, node: Node) -> str:
    """True exactly when the command line has reached `node` (and nothing below it)."""
    parts = []
    level = root
    for name in node.path:
        parts.append(f"__fish_seen_subcommand_from {name}")
        level = level.children[name]
    below = " ".join(level.children)
    if below:
        parts.append(f"not __fish_seen_subcommand_from {below}")
    if not node.path:
        return "__fish_use_subcommand" if below else "true"
    return "; and ".join(parts)


def script(shell: Shell) -> str:
    return "\n".join({Shell.bash: bash, Shell.zsh: zsh, Shell.fish: fish}[shell](tree()))


def install_path(shell: Shell, home: Path) -> Path:
    data = Path(os.environ.get("XDG_DATA_HOME") or home / ".local/share")
    config = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    return {
        Shell.bash: data / "bash-completion/completions/scrobctl",
        Shell.zsh: home / ".zfunc/_scrobctl",
        Shell.fish: config / "fish/completions/scrobctl.fish",
    }[shell]


def _detect_shell() -> Shell:
    name = Path(os.environ.get("SHELL", "")).name
    try:
        return Shell(name)
    except ValueError:
        from scrobctl.errors import UsageError

        raise UsageError(
            f"cannot tell your shell from SHELL={name or '(unset)'}", "name it: bash, zsh or fish"
        ) from None


@app.command()
def install(
    ctx: typer.Context,
    shell: Shell | None = typer.Argument(None, help="bash, zsh or fish (default: from $SHELL)."),
) -> None:
    """Install the completion script where your shell looks for it.

    Example: scrobctl completion install zsh
    """
    out = output(ctx)
    chosen = shell or _detect_shell()
    path = install_path(chosen, Path.home())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(script(chosen), encoding="utf-8")
    out.info(f"installed {chosen.value} completion in {path}")
    if chosen is Shell.zsh:
        out.info("add to ~/.zshrc (before compinit): fpath=(~/.zfunc $fpath)")
    out.info("open a new shell to use it")


@app.command()
def show(shell: Shell = typer.Argument(..., help="bash, zsh or fish.")) -> None:
    """Print the completion script, e.g. to source it yourself.

    Example: source <(scrobctl completion show bash)
    """
    sys.stdout.write(script(shell))


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="completion", rich_help_panel="Setup")
