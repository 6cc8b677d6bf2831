"""`scrobctl serve`: a local receiver for media-server webhooks and other scrobblers' submissions.

One module per wire format turns a request body into the playback events `scrobctl scrobble`
reads (`plex`, `jellyfin`, `emby`, `listenbrainz`, `lastfm`); `app` authenticates, hands them
to the one ingest path and answers in the sender's own shape; `run` holds the server, the flush
loop and the shutdown. Nothing here imports starlette or uvicorn at module level except `app`
and `run`, which only `scrobctl serve` loads.
"""
