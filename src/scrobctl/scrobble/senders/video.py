"""What the Trakt and Simkl senders share: Simkl's sync API follows Trakt's.

Both take `POST /sync/history` with movies and shows (Trakt also bare episodes), answer with the
items they could not match under `not_found` and counts that must add up (each service's
`check_counts`), and show a play now with `POST /scrobble/start`. Neither drops a resent play,
so each looks a play up its own way (`already_there`) before it is sent again.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, ClassVar, Self

from scrobctl.kinds import KINDS, Link
from scrobctl.scrobble.senders import Outcome, Refused, for_target
from scrobctl.scrobble.senders.ids import group_shows, scrobble_item
from scrobctl.store.records import PlayRecord

BATCH_SIZE = 100  # no documented maximum; PlexTraktSync-sized batches keep bodies small
ITEM_TYPES = ("movies", "episodes", "shows")  # the body's keys, in the order they are sent


class VideoSender:
    service: str
    batch_size = BATCH_SIZE
    deduplicates = False
    api: ClassVar[ModuleType]  # services.trakt or services.simkl

    def __init__(self, client: Any) -> None:
        self._client = client
        self.service = self.api.SERVICE
        self.label = KINDS[self.api.SERVICE].label

    @classmethod
    def for_link(cls, link: Link) -> Self:
        return for_target(cls(link.client), link)

    def echoed(self, ids: dict[str, Any], echoed: dict[str, Any]) -> bool:
        """Whether an id set the answer lists as not found is this play's."""
        raise NotImplementedError

    async def now_playing(self, play: PlayRecord, payload: Any, progress: float) -> None:
        await self.api.scrobble_start(self._client, scrobble_item(*payload), progress)

    async def send(self, batch: list[tuple[PlayRecord, Any]]) -> list[Outcome]:
        """`prepare` made each play (kind, payload): a movie or episode entry with its `ids`,
        or (show ids, season, number, watched_at) nested under its show here."""
        body: dict[str, list[dict[str, Any]]] = {"movies": [], "episodes": []}
        for _, (kind, payload) in batch:
            if kind != "shows":
                body[kind].append(payload)
        body["shows"] = group_shows([p for _, (k, p) in batch if k == "shows"])
        result = await self.api.add_history(self._client, {k: v for k, v in body.items() if v})
        missing = {
            kind: [item.get("ids") or {} for item in result.not_found.get(kind, [])]
            for kind in ITEM_TYPES
        }
        outcomes: list[Outcome] = []
        stored = {"movies": 0, "episodes": 0}
        for _, (kind, payload) in batch:
            ids = payload[0] if kind == "shows" else payload["ids"]
            if any(self.echoed(ids, echoed) for echoed in missing[kind]):
                outcomes.append(Refused(f"not found on {self.label}"))
            else:
                outcomes.append(None)
                stored["movies" if kind == "movies" else "episodes"] += 1
        self.api.check_counts(result, {k: n for k, n in stored.items() if n})
        return outcomes
