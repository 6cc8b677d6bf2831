"""Choices shared by several commands (Typer shows and completes them)."""

from __future__ import annotations

from enum import StrEnum

from scrobctl.kinds import KINDS

# The service kinds, as kinds.py declares them.
Service = StrEnum("Service", {name: name for name in KINDS})  # type: ignore[misc]


class FileFormat(StrEnum):
    """Export-file formats of `import --file` (sync/files/); `report` is scrobctl's own."""

    spotify = "spotify"
    lastfm = "lastfm"
    listenbrainz = "listenbrainz"
    letterboxd = "letterboxd"
    trakt = "trakt"
    imdb = "imdb"
    simkl = "simkl"
    report = "report"
