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
        self.rows.append(["" if c is None else str(c) for c in cells])

    def render(self) -> str:
        widths = [len(h) for h in self.headers]
        for row in self.rows:
            for i, cell in enumerate(row):
                widths[i] = max(widths[i], len(cell))
        lines = [self.title] if self.title else []
        for row in (self.headers, *self.rows):
            padded = [cell.ljust(widths[i]) for i, cell in enumerate(row)]
            lines.append("  ".join(padded).rstrip())
        return "\n".join(lines)

    def print(self, file: TextIO | None = None) -> None:
        (file or sys.stdout).write(self.render() + "\n")
