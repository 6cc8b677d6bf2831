"""A fake ntfy server: the publish API, in its two forms (docs.ntfy.sh/publish/, the ntfy
repository binwiederhier/ntfy `docs/publish.md`, "Publish as JSON"):

- `POST /` with a JSON body `{"topic", "message", "title", ...}`, which is what Apprise's ntfy
  plugin sends for a message without attachment (apprise 2.3.0 `apprise/plugins/ntfy.py`
  `send`, ~l.563-582: the URL is `http://host:port`, `data["topic"] = topic`, title and
  message in the JSON);
- `POST /<topic>` with the message as the body and the title in `X-Title` (or `Title`).

Either way ntfy answers 200 with the message envelope `{"id", "time", "expires", "event":
"message", "topic", "title", "message"}`. A JSON publish without a valid topic is refused with
400 `{"code": 40009, "http": 400, "error": "invalid request: topic invalid"}`.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from tests.fakes.server import FakeService, Reply, Request

TOPIC = re.compile(r"^[-_A-Za-z0-9]{1,64}$")  # ntfy's topic rule


@dataclass(frozen=True)
class Message:
    topic: str
    title: str | None
    message: str


class FakeNtfy(FakeService):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[Message] = []

    def handle(self, request: Request) -> Reply:
        if request.method not in ("POST", "PUT"):
            return Reply(404, {"code": 40401, "http": 404, "error": "page not found"})
        if request.path == "/":
            try:
                data: Any = json.loads(request.body or b"null")
            except ValueError:
                data = None
            if not isinstance(data, dict) or not TOPIC.match(str(data.get("topic", ""))):
                return Reply(400, {"code": 40009, "http": 400, "error": "invalid request"})
            return self._publish(data["topic"], data.get("title"), str(data.get("message", "")))
        topic = request.path.strip("/")
        if not TOPIC.match(topic):
            return Reply(404, {"code": 40401, "http": 404, "error": "page not found"})
        title = request.headers.get("x-title") or request.headers.get("title")
        return self._publish(topic, title, request.body.decode("utf-8", "replace"))

    def _publish(self, topic: str, title: str | None, message: str) -> Reply:
        with self.lock:
            self.messages.append(Message(topic, title, message))
        now = int(time.time())
        return Reply(
            200,
            {
                "id": secrets.token_hex(6),
                "time": now,
                "expires": now + 43_200,
                "event": "message",
                "topic": topic,
                "title": title,
                "message": message,
            },
        )

    def received(self, topic: str) -> list[Message]:
        with self.lock:
            return [m for m in self.messages if m.topic == topic]
