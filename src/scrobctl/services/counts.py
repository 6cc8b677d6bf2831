"""The count check after a Trakt or Simkl write (Simkl's sync API follows Trakt's).

The answer must account for every item it did not list as not found: a count that does not add
up may mean nothing was stored, so the batch is retried, and the retry looks the plays up first
so that one the service did store is not sent twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from scrobctl.errors import ServiceUnavailable


class Counted(Protocol):
    added: Mapping[str, Any]

    def stored(self, kind: str) -> int | None:
        """How many of `kind` the answer counts as stored; None: not a count."""
        ...


def check_counts(service: str, path: str, result: Counted, sent: Mapping[str, int]) -> None:
    for kind, count in sent.items():
        stored = result.stored(kind)
        if stored is None or kind not in result.added:
            raise ServiceUnavailable(service, f"{path} answered without an `added.{kind}` count")
        if stored != count:
            raise ServiceUnavailable(
                service, f"{path} reported {stored} {kind} added of {count} sent"
            )
