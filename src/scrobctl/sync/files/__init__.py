"""Export files of other services, read in place: one module per format (api-notes
file-formats.md). `FORMATS` is the one place that knows them all, in the order they are tried."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from scrobctl.scrobble.events import Event
from scrobctl.scrobble.rules import below_threshold
from scrobctl.sync.files.base import FileLine, Numbering, Source

# name -> module; the order is the order of detection (the report first: it is ours).
MODULES = {
    "report": "scrobctl.sync.files.report",
    "spotify": "scrobctl.sync.files.spotify",
    "lastfm": "scrobctl.sync.files.lastfm",
    "listenbrainz": "scrobctl.sync.files.listenbrainz",
    "letterboxd": "scrobctl.sync.files.letterboxd",
    "trakt": "scrobctl.sync.files.trakt",
    "imdb": "scrobctl.sync.files.imdb",
    "simkl": "scrobctl.sync.files.simkl",
}


@dataclass(frozen=True)
class Format:
    """A format module seen through what the importer needs of it."""

    name: str
    module: ModuleType

    @property
    def label(self) -> str:
        return str(self.module.LABEL)

    def detect(self, source: Source) -> bool:
        return bool(self.module.detect(source))

    @property
    def rule(self) -> Callable[[Event], str | None]:
        return getattr(self.module, "rule", below_threshold)

    @property
    def rating_source(self) -> str:
        return str(getattr(self.module, "RATING_SOURCE", self.name))

    def precision(self, source: Source) -> int:
        """Seconds the file's times may be off (0: to the second)."""
        precision = getattr(self.module, "precision", None)
        return int(precision(source)) if precision is not None else 0

    @property
    def needs_tmdb(self) -> bool:
        return bool(getattr(self.module, "NEEDS_TMDB", False))

    async def prepare(self, source: Source, context: Any) -> Any:
        """What the format must know before its rows (Letterboxd: the films' TMDb matches)."""
        prepare = getattr(self.module, "prepare", None)
        return await prepare(source, context) if prepare is not None else None

    def lines(self, source: Source, numbering: Numbering, state: Any) -> Iterator[FileLine]:
        return self.module.lines(source, numbering, state)


def load(name: str) -> Format:
    return Format(name, importlib.import_module(MODULES[name]))


def names() -> list[str]:
    return [name for name in MODULES if name != "report"]


def detect(source: Source) -> Format | None:
    for name in MODULES:
        fmt = load(name)
        if fmt.detect(source):
            return fmt
    return None
