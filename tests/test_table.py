"""cli/table.py: the plain aligned tables of status, history, queue list, explain and stats."""

from __future__ import annotations

from scrobctl.cli.table import Table


def test_columns_are_as_wide_as_their_widest_cell_two_spaces_apart() -> None:
    table = Table("id", "what")
    table.add_row("1", "Johnny Cash - Hurt")
    table.add_row("1234", "x")

    assert table.render().splitlines() == [
        "id    what",
        "1     Johnny Cash - Hurt",
        "1234  x",
    ]


def test_lines_have_no_trailing_spaces() -> None:
    table = Table("service", "outcome")
    table.add_row("listenbrainz", "")
    table.add_row("trakt", "not_found")

    assert all(line == line.rstrip() for line in table.render().splitlines())
    assert table.render().splitlines()[1] == "listenbrainz"


def test_a_title_comes_first() -> None:
    table = Table("service", "available", title="queue")
    table.add_row("trakt", "3")

    assert table.render().splitlines() == ["queue", "service  available", "trakt    3"]


def test_cells_are_written_as_given() -> None:
    """No markup: a title holding [brackets] or braces is shown as it is."""
    table = Table("what")
    table.add_row("[bold]Song {0}[/bold]")
    table.add_row(None)  # type: ignore[arg-type]

    assert table.render().split("\n") == ["what", "[bold]Song {0}[/bold]", ""]


def test_a_short_row_leaves_its_missing_cells_empty() -> None:
    table = Table("a", "b", "c")
    table.add_row("x")
    table.add_row("yy", "z", "w")

    assert table.render().splitlines() == ["a   b  c", "x", "yy  z  w"]
