"""Service definitions for running `scrobctl serve` at login: a systemd user unit and a launchd
agent. `contrib/` holds the same text for the default install path; `serve --print-unit` fills
in this installation's own path and options."""

from __future__ import annotations

import shlex
from xml.sax.saxutils import escape

SYSTEMD = """\
# scrobctl serve as a systemd user service.
#   mkdir -p ~/.config/systemd/user
#   scrobctl serve --print-unit systemd > ~/.config/systemd/user/scrobctl-serve.service
#   systemctl --user daemon-reload && systemctl --user enable --now scrobctl-serve
#   journalctl --user -u scrobctl-serve      # what it received
# Add Environment= lines for SCROBCTL_* settings (e.g. SCROBCTL_TOKEN_STORE=file on a headless
# machine); `loginctl enable-linger $USER` keeps it running while you are logged out.
[Unit]
Description=scrobctl receiver for media-server webhooks and scrobblers
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
ExecStart={exec_start}
# SIGTERM: the request in hand is answered, the flush in hand finishes, then it exits 0.
KillSignal=SIGTERM
TimeoutStopSec=120
Restart=on-failure
RestartSec=5

[Install]
WantedBy=default.target
"""

LAUNCHD = """\
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!--
  scrobctl serve as a launchd agent: save as ~/Library/LaunchAgents/org.scrobctl.serve.plist
  (the README's "scrobctl serve" section prints one for your install), then
    launchctl bootstrap gui/$(id -u) ~/Library/LaunchAgents/org.scrobctl.serve.plist
  It starts at login and again after a crash; launchd sends SIGTERM to stop it.
-->
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>org.scrobctl.serve</string>
  <key>ProgramArguments</key>
  <array>
{arguments}
  </array>
  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <dict>
    <key>SuccessfulExit</key>
    <false/>
  </dict>
  <key>StandardErrorPath</key>
  <string>{log}</string>
  <key>ExitTimeOut</key>
  <integer>120</integer>
</dict>
</plist>
"""


def systemd_unit(argv: list[str]) -> str:
    return SYSTEMD.replace("{exec_start}", shlex.join(argv))


def launchd_plist(argv: list[str], log: str) -> str:
    arguments = "\n".join(f"    <string>{escape(a)}</string>" for a in argv)
    return LAUNCHD.replace("{arguments}", arguments).replace("{log}", escape(log))
