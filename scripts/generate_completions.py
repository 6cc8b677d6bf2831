"""Write completions/ from the CLI: `python scripts/generate_completions.py` after changing it."""

from __future__ import annotations

from pathlib import Path

from scrobctl.cli.completion import FILE_NAMES, Shell, script

OUT = Path(__file__).resolve().parent.parent / "completions"


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for shell in Shell:
        (OUT / FILE_NAMES[shell]).write_text(script(shell), encoding="utf-8")
        print(f"wrote {OUT / FILE_NAMES[shell]}")


if __name__ == "__main__":
    main()
