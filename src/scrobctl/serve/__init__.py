"""`scrobctl serve`: a local receiver for media-server webhooks and other scrobblers' submissions.

One module per wire format turns a request body into the playback events `scrobctl scrobble`
reads (`plex`, `jellyfin`, `emby`, `listenbrainz`, `lastfm`); `app` authenticates, hands them
to the one ingest path and answers in the sender's own shape; `run` holds the server, the flush
loop and the shutdown. Nothing here imports starlette or uvicorn at module level except `app`
and `run`, which only `scrobctl serve` loads.

Why uvicorn + Starlette: both maintained by the Encode team, small, pure Python with wheels
(uvicorn without its `[standard]` extras runs on h11), and together they give what a receiver
needs without writing any HTTP: uvicorn's graceful shutdown (SIGTERM stops accepting, waits for
the requests in hand, then runs the app's shutdown), Starlette's routing, query strings, form
and multipart parsing (through python-multipart, which Plex's multipart webhooks need). A
standard-library `http.server` would have meant parsing multipart by hand; aiohttp or a full
framework (FastAPI) would bring more than this needs.
"""
