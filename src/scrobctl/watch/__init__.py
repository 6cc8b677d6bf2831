"""Watching players: each watcher turns what its player reports into playback events for the one
ingest path (scrobble/service.py); the rules that make plays of them are in `tracker`."""
