"""The stop on SIGTERM (docs/operations.md: Deploys): aiohttp closes the listener and lets the
requests in flight finish; this tells the workers to finish the message in hand and take no
new one, and says how long they still have (SHUTDOWN_TIMEOUT_SECONDS from the signal)."""

from __future__ import annotations

import asyncio
import logging
import time

log = logging.getLogger(__name__)


class Shutdown:
    def __init__(self, timeout_seconds: float) -> None:
        self.timeout = timeout_seconds
        self.stopping = asyncio.Event()
        self._deadline: float | None = None

    def begin(self) -> None:
        """Start stopping (once): from now the workers have `timeout` seconds."""
        if self._deadline is None:
            self._deadline = time.monotonic() + self.timeout
            log.info("stopping: finishing the messages in hand, at most %.0fs", self.timeout)
        self.stopping.set()

    def remaining(self) -> float:
        if self._deadline is None:
            return self.timeout
        return max(0.0, self._deadline - time.monotonic())
