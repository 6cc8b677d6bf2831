"""Write README.md's command reference from the CLI: `python scripts/generate_reference.py`
after adding or changing a command or option (a test fails until it is run)."""

from __future__ import annotations

from pathlib import Path

from scrobctl.cli.reference import replace

README = Path(__file__).resolve().parent.parent / "README.md"


def main() -> None:
    text = README.read_text(encoding="utf-8")
    README.write_text(replace(text), encoding="utf-8")
    print(f"wrote the command reference in {README}")


if __name__ == "__main__":
    main()
