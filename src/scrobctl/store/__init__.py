"""The local SQLite store: the durable record of plays, the queue and the history."""

from scrobctl.store.db import Store, open_store

__all__ = ["Store", "open_store"]
