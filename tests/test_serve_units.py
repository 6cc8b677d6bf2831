"""The service files in contrib/ are what `serve --print-unit` prints for the default install
path, so the two cannot drift apart."""

from __future__ import annotations

import plistlib
from pathlib import Path

from scrobctl.serve.units import launchd_plist, systemd_unit

CONTRIB = Path(__file__).resolve().parent.parent / "contrib"
ARGS = ["serve", "--host", "127.0.0.1", "--port", "8765", "--flush-every", "5m"]


def test_contrib_systemd_unit_is_the_printed_one() -> None:
    expected = systemd_unit(["%h/.local/bin/scrobctl", *ARGS])

    assert (CONTRIB / "scrobctl-serve.service").read_text() == expected


def test_contrib_launchd_plist_is_the_printed_one_and_parses() -> None:
    expected = launchd_plist(
        ["/Users/USERNAME/.local/bin/scrobctl", *ARGS],
        "/Users/USERNAME/Library/Logs/scrobctl-serve.log",
    )
    text = (CONTRIB / "org.scrobctl.serve.plist").read_text()

    assert text == expected
    parsed = plistlib.loads(text.encode())
    assert parsed["ProgramArguments"][1:] == ARGS
    assert parsed["KeepAlive"] == {"SuccessfulExit": False}


def test_launchd_plist_escapes_arguments() -> None:
    parsed = plistlib.loads(launchd_plist(["/a&b/scrobctl", "serve"], "/tmp/<log>").encode())

    assert parsed["ProgramArguments"][0] == "/a&b/scrobctl"
    assert parsed["StandardErrorPath"] == "/tmp/<log>"
