"""`scrobctl explain`: why a play is recorded as the item it is, and where it went.

It takes a play id (as `history` shows it), an item by external id (`tmdb:603`,
`movie:imdb:tt0133093`, `mbid:<uuid>`), or `-`: JSON on stdin, either `history --json` output
(each play is explained) or playback events (each is matched as `scrobble` would match it,
writing nothing).
"""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING, Any

from scrobctl.errors import UsageError
from scrobctl.store.explain import Explanation, explain_item, explain_play, explain_ref, find_items

if TYPE_CHECKING:
    from scrobctl.runtime import Runtime


def explain(runtime: Runtime, target: str, stdin: str | None = None) -> list[Explanation]:
    conn = runtime.store().conn
    if target == "-":
        return _from_stdin(runtime, stdin or "")
    if target.isdigit():
        found = explain_play(conn, int(target))
        if found is None:
            raise UsageError(
                f"there is no play {target} in the archive",
                "`scrobctl history` shows each play's id",
            )
        return [found]
    # Here: a play id needs no item-id parser (sync.rate brings the rating and queue stores).
    from scrobctl.sync.rate import parse_item

    kind, name, value = parse_item(target)
    items = find_items(conn, kind, name, value)
    if not items:
        raise UsageError(f"no item with {name} {value} in the archive")
    return [e for e in (explain_item(conn, i) for i in items) if e is not None]


def _from_stdin(runtime: Runtime, text: str) -> list[Explanation]:
    conn = runtime.store().conn
    stripped = text.strip()
    try:
        document: Any = json.loads(stripped) if stripped.startswith("{") else None
    except ValueError:
        document = None
    if isinstance(document, dict) and isinstance(document.get("data"), dict):
        document = document["data"]  # `history --json`'s envelope (README "JSON output")
    if isinstance(document, dict) and isinstance(document.get("plays"), list):
        ids = [p.get("id") for p in document["plays"] if isinstance(p, dict)]
        return [e for e in (explain_play(conn, i) for i in ids if isinstance(i, int)) if e]
    # Here, not at the top: explaining a play by its id needs no event model (pydantic).
    from scrobctl.scrobble.enqueue import item_ref
    from scrobctl.scrobble.events import read_events

    explanations = []
    for line in read_events(io.BytesIO(text.encode())):
        if line.event is None:
            raise UsageError(f"stdin line {line.number}: {line.error}")
        explanations.append(explain_ref(conn, item_ref(line.event)))
    return explanations
