"""Is this play already on the target? Matching plays across services (issue 21).

Pure functions over plain records, no I/O. Video is matched by ids only (an episode also by its
show's ids with season and number); titles never identify video. Music by recording MBID or
ISRC, by being the same archive item, else by a normalised artist and title, which is a weak
match and reported as one. Times must agree within a tolerance for the pair of services, since
each rounds and shifts times its own way.

Cheap on big histories: the target's plays are indexed by every key they answer to and by time
bucket, so each source play is a few dictionary look-ups, never a scan of the target.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

MUSIC = ("track", "podcast")
VIDEO_IDS = ("tmdb", "imdb", "tvdb", "trakt", "simkl")
BUCKET = 3600  # seconds a time bucket spans

# How far a service's recorded start may be from the moment playback began, in seconds.
# Last.fm and ListenBrainz keep whole seconds, but two scrobblers of one play (a player's own
# and a browser extension, say) stamp it a few seconds apart; Trakt and Simkl keep minutes
# (Simkl's `watched_at` has no seconds); Spotify's export gives the *end* of a stream, so its
# start is derived from `ms_played`, which leaves out pauses; Letterboxd has only the day
# (imported at 12:00 UTC), so any time that day is it. For music the sum is capped below half
# the track (`tolerance`), so a track played twice in a row stays two plays.
SLACK: dict[str, int] = {
    "lastfm": 10,
    "listenbrainz": 10,
    "trakt": 60,
    "simkl": 60,
    "file:spotify": 60,
    "file:lastfm": 60,
    "file:listenbrainz": 10,
    "file:trakt": 60,
    "file:simkl": 60,
    "file:letterboxd": 12 * 3600,
    "file:imdb": 12 * 3600,
}
DEFAULT_SLACK = 10  # plays scrobctl recorded itself (stdin, watchers, webhooks)
MIN_TRACK_MS = 30_000


def slack(origin: str | None) -> int:
    """The slack of a play's origin: a service kind, a `file:FORMAT` or `import:KIND` source."""
    if not origin:
        return DEFAULT_SLACK
    if origin.startswith("import:"):
        origin = origin.removeprefix("import:")
    return SLACK.get(origin, DEFAULT_SLACK)


def tolerance(a: str | None, b: str | None, kind: str, duration_ms: int | None = None) -> int:
    """Seconds two starts of the same play may differ by, between origins `a` and `b`. For
    music, less than half the track: listening to it again cannot start sooner."""
    tol = slack(a) + slack(b)
    if kind in MUSIC:
        half = max(1, (duration_ms or MIN_TRACK_MS) // 2000 - 1)
        tol = min(tol, half)
    return max(1, tol)


# -- music normalisation ------------------------------------------------------------------------

_FEAT = r"(?:feat\.?|ft\.?|featuring)"
# "(feat. X)", "[ft. X]", "(with X)" anywhere in a title; "feat. X" to the end of a title or
# artist ("with" only in brackets: "Stay With Me" is a title).
_FEAT_BRACKET = re.compile(rf"[\(\[]\s*(?:{_FEAT}|with)\s+([^\)\]]*)[\)\]]", re.IGNORECASE)
_FEAT_TAIL = re.compile(rf"\s+{_FEAT}\s+(.*)$", re.IGNORECASE)
# Bracketed or dashed notes of a version that is still the same recording for a listener.
_NOTE_WORDS = r"(?:remaster(?:ed)?|live|mono|stereo|single version|album version|radio edit)"
_NOTE_BRACKET = re.compile(rf"[\(\[][^\)\]]*\b{_NOTE_WORDS}\b[^\)\]]*[\)\]]", re.IGNORECASE)
_NOTE_DASH = re.compile(rf"\s+-\s+[^-]*\b{_NOTE_WORDS}\b[^-]*$", re.IGNORECASE)
_ARTIST_SPLIT = re.compile(r"\s*(?:,|&|\+|\bx\b|\band\b|\bvs\.?|;|/)\s*", re.IGNORECASE)
_NOT_WORD = re.compile(r"[^\w\s]+")


@functools.lru_cache(maxsize=65_536)
def fold(text: str) -> str:
    """Case, diacritics, punctuation and spacing folded away: "Beyoncé!" -> "beyonce"."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    words = _NOT_WORD.sub(" ", bare.casefold().replace("_", " "))
    return " ".join(words.split())


def _artists(text: str) -> list[str]:
    return [a for a in (fold(part) for part in _ARTIST_SPLIT.split(text)) if a]


@functools.lru_cache(maxsize=65_536)
def music_key(artist: str | None, title: str | None) -> str | None:
    """The normalised artist and title of a track: featured artists moved out of the title
    and joined with the others in a fixed order, version notes dropped. None without both."""
    if not artist or not title:
        return None
    artists: list[str] = []
    name = title
    for found in _FEAT_BRACKET.findall(name):
        artists.extend(_artists(found))
    name = _FEAT_BRACKET.sub(" ", name)
    tail = _FEAT_TAIL.search(name)
    if tail:
        artists.extend(_artists(tail.group(1)))
        name = name[: tail.start()]
    name = _NOTE_DASH.sub("", _NOTE_BRACKET.sub(" ", name))
    main = artist
    tail = _FEAT_TAIL.search(main)
    if tail:
        artists.extend(_artists(tail.group(1)))
        main = main[: tail.start()]
    artists.extend(_artists(main))
    folded = fold(name)
    if not folded or not artists:
        return None
    return "|".join(sorted(set(artists))) + "\x1f" + folded


# -- records and the index ----------------------------------------------------------------------


@dataclass(slots=True)
class Play:
    """One play as matching sees it: an archive play (the source side) or a play the target has
    (the target side). `origin` is where its time came from (a kind or a play source)."""

    ref: int  # the archive play id, or the target record's own id
    kind: str
    at: int
    item_id: int
    origin: str | None = None
    ids: dict[str, Any] = field(default_factory=dict)
    show_ids: dict[str, Any] = field(default_factory=dict)
    season: int | None = None
    number: int | None = None
    artist: str | None = None
    title: str | None = None
    duration_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Match:
    """The target's play that a source play is, and how that was decided."""

    target: Play
    how: str  # "id": by ids or the same item with ids; "title": normalised artist + title

    @property
    def weak(self) -> bool:
        return self.how == "title"


def keys(play: Play) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """(how, key) for every key the play answers to, strongest first."""
    # The same archive item: as strong as what made it one item (ids, or a title for music).
    strong = bool(play.ids) or play.kind not in MUSIC
    yield ("id" if strong else "title"), ("item", play.item_id)
    if play.kind in MUSIC:
        for column in ("mbid", "isrc"):
            value = play.ids.get(column)
            if value:
                yield "id", (column, str(value).lower())
        key = music_key(play.artist, play.title)
        if key is not None:
            yield "title", (play.kind, key)
        return
    for column in VIDEO_IDS:
        value = play.ids.get(column)
        if value is not None:
            yield "id", (play.kind, column, str(value))
    if play.kind == "episode" and play.season is not None and play.number is not None:
        for column in VIDEO_IDS:
            value = play.show_ids.get(column)
            if value is not None:
                yield "id", ("episode@show", column, str(value), play.season, play.number)


class TargetIndex:
    """The target's plays by key and time bucket. A target play matches one source play at
    most: once matched it is taken, so two listens of one track a minute apart on the source
    never both count as one listen on the target."""

    def __init__(self, plays: Iterable[Play] = ()) -> None:
        self._by_key: dict[tuple[Any, ...], dict[int, list[Play]]] = {}
        self._taken: set[int] = set()  # id() of matched target plays
        self._slack = 0  # the widest slack of any play in the index
        self.size = 0
        for play in plays:
            self.add(play)

    def add(self, play: Play) -> None:
        bucket = play.at // BUCKET
        self._slack = max(self._slack, slack(play.origin))
        for _how, key in keys(play):
            self._by_key.setdefault(key, {}).setdefault(bucket, []).append(play)
        self.size += 1

    def match(self, play: Play) -> Match | None:
        """The nearest untaken target play the source play is, by its strongest key; taken."""
        for how, key in keys(play):
            buckets = self._by_key.get(key)
            if buckets is None:
                continue
            best: Play | None = None
            for candidate in self._near(buckets, play):
                if best is None or abs(candidate.at - play.at) < abs(best.at - play.at):
                    best = candidate
            if best is not None:
                self._taken.add(id(best))
                return Match(best, how)
        return None

    def _near(self, buckets: dict[int, list[Play]], play: Play) -> Iterator[Play]:
        widest = slack(play.origin) + self._slack
        for bucket in range((play.at - widest) // BUCKET, (play.at + widest) // BUCKET + 1):
            for candidate in buckets.get(bucket, ()):
                if id(candidate) in self._taken or candidate.kind != play.kind:
                    continue
                tol = tolerance(play.origin, candidate.origin, play.kind, play.duration_ms)
                if abs(candidate.at - play.at) <= tol:
                    yield candidate
