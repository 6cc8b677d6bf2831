"""Choices shared by several commands (Typer shows and completes them)."""

from __future__ import annotations

from enum import StrEnum


class Service(StrEnum):
    trakt = "trakt"
    simkl = "simkl"
    lastfm = "lastfm"
    listenbrainz = "listenbrainz"
