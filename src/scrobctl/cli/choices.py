"""Choices shared by several commands (Typer shows and completes them)."""

from __future__ import annotations

from enum import StrEnum


class Service(StrEnum):
    trakt = "trakt"
    simkl = "simkl"
    lastfm = "lastfm"
    listenbrainz = "listenbrainz"


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
