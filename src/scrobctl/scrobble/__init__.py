"""Playback events in, plays queued, queue flushed."""
