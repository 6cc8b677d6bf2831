"""Write README.md's command reference and src/scrobctl/cli/listing.py (what `--help` lists)
from the CLI: `python scripts/generate_reference.py` after adding or changing a command or option
(a test fails until it is run)."""

from __future__ import annotations

from pathlib import Path

from scrobctl.cli.reference import listing, replace

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
LISTING = ROOT / "src" / "scrobctl" / "cli" / "listing.py"


def main() -> None:
    text = README.read_text(encoding="utf-8")
    README.write_text(replace(text), encoding="utf-8")
    print(f"wrote the command reference in {README}")
    LISTING.write_text(listing(), encoding="utf-8")
    print(f"wrote {LISTING}")


if __name__ == "__main__":
    main()
