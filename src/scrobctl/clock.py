"""Time as a dependency, so back-off and rate-limit waits run instantly under test."""

from __future__ import annotations

import time


class Clock:
    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            import asyncio  # here: commands that never wait need not import it (25 ms)

            await asyncio.sleep(seconds)
