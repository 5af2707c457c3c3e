"""Requests per minute per API token (and per client address for the public endpoints), in
this process's memory: a token bucket each, refilled continuously (API_RATE_PER_MINUTE). With
several processes each holds its own buckets, so the limit is per process."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from bot.appkeys import SETTINGS
from web.api.errors import ApiError

MAX_BUCKETS = 100_000  # the least recently used are forgotten (a full bucket again)


@dataclass
class Limiter:
    per_minute: int
    clock: Callable[[], float] = time.monotonic
    _buckets: OrderedDict[str, tuple[float, float]] = field(default_factory=OrderedDict)

    def take(self, key: str) -> float:
        """0 when a request may go now, else the seconds until one may."""
        now = self.clock()
        rate = self.per_minute / 60.0
        tokens, at = self._buckets.pop(key, (float(self.per_minute), now))
        tokens = min(float(self.per_minute), tokens + (now - at) * rate)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / rate
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > MAX_BUCKETS:
            self._buckets.popitem(last=False)
        return wait


LIMITER = web.AppKey("api_limiter", Limiter)


def install(app: web.Application) -> None:
    app[LIMITER] = Limiter(app[SETTINGS].api_rate_per_minute)


def check(app: web.Application, key: str) -> None:
    wait = app[LIMITER].take(key)
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise ApiError(429, "rate_limited", headers={"Retry-After": str(seconds)},
                       seconds=seconds)
