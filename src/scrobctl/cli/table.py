"""Tables as aligned plain text.

Rich's tables took about 450 ms per 1,000 rows here and Rich 40 ms to import, on commands that
scripts run in loops (issue #25); an aligned column layout says the same. Cells are written as
given: no markup, so a title holding [brackets] is shown as it is.
"""

from __future__ import annotations

import sys
from typing import TextIO


class Table:
    def __init__(self, *headers: str, title: str | None = None) -> None:
        self.headers = list(headers)
        self.title = title
        self.rows: list[list[str]] = []

    def add_row(self, *cells: str) -> None:
        row = ["" if c is None else str(c) for c in cells]
        row += [""] * (len(self.headers) - len(row))  # a short row: its missing cells empty
        self.rows.append(row)

    def render(self) -> str:
        """Each column as wide as its widest cell, two spaces apart, no trailing spaces: one
        format string for every line (half the cost of padding cell by cell, issue #25)."""
        widths = [max(map(len, column)) for column in zip(self.headers, *self.rows, strict=True)]
        line = "  ".join(f"{{:<{width}}}" for width in widths)
        lines = [self.title] if self.title else []
        lines += [line.format(*row).rstrip() for row in (self.headers, *self.rows)]
        return "\n".join(lines)

    def print(self, file: TextIO | None = None) -> None:
        (file or sys.stdout).write(self.render() + "\n")
