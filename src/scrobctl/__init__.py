"""scrobctl: a command-line scrobbler and history-sync tool."""

__version__ = "0.1.0"
