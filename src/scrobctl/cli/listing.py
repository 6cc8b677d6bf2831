"""What `scrobctl --help` lists for each command: the first paragraph of its
help, so that the listing needs no command module imported (cli/lazy.py, issue #25).

Generated from the commands by `python scripts/generate_reference.py`; do not edit (a test
fails when it is out of date).
"""

LISTING = {
    "login": "Connect a service; its token goes to the keyring (or the file store).",
    "logout": "Forget a service's token (Trakt's is revoked too). Queued plays are kept.",
    "status": "Show connections, queue counts, and where data and tokens are kept.",
    "scrobble": "Queue plays from JSON playback events, one object per line (or one JSON array).",
    "flush": "Send queued plays to their services: batched, rate-limited, retried.",
    "import": (
        "Import your history (and ratings, loves, feedback) from a service, or from export files."
    ),
    "sync": "Queue the archived plays a target lacks; `scrobctl flush` sends them.",
    "history": "Show your plays, newest first, with the services that have each.",
    "rate": "Rate an item in your history on the 1-10 scale.",
    "doctor": "Check the keyring, the database, the configuration and the lock; change nothing.",
    "unscrobble": (
        "Remove wrong plays from your archive and, as queued jobs, from the services that "
        "have them: Trakt and Simkl (/sync/history/remove) and ListenBrainz "
        "(delete-listen). A play not sent yet is just dropped from the queue. Last.fm "
        "cannot delete scrobbles through its API: you get the page where you can delete "
        "it by hand. `scrobctl flush` sends the removals."
    ),
    "explain": (
        "Explain a play or an item: which ids and which rule matched it (exact id, weak "
        "artist + title, TMDb look-up), the other items it could have been, and each "
        "target's job with its state, attempts and outcome."
    ),
    "stats": (
        "Your archive at a glance: plays per week (a chart on a terminal), top artists, "
        "tracks, albums, shows and movies, listening and watching time, and how much of "
        "the archive each target has. Without --since the chart covers the last 26 weeks."
    ),
    "export": "Send local data to a service as queued jobs.",
    "watch": "Follow a music player and queue its plays (MPD, MPRIS players, cmus).",
    "config": "See the settings in effect and where each came from; change the settings file.",
    "serve": (
        "Receive plays over HTTP: /plex, /jellyfin, /emby, /1/submit-listens "
        "(ListenBrainz) and /2.0/ (Last.fm). Each source sends its own token (`scrobctl "
        "serve token add NAME`); every request goes through the same thresholds and "
        "duplicate rules as `scrobctl scrobble` and is answered once its plays are "
        "committed. SIGTERM finishes the request in hand and exits."
    ),
    "queue": "Look at and manage queued jobs.",
    "completion": "Shell completion for bash, zsh and fish.",
    "tokens": "Manage where tokens are kept.",
    "notify": "Notifications (notify.url) for problems nobody is watching for.",
}
