"""Per-caller request limits: a moving window per minute in Redis (the `limits` library).

Each caller has its own window (an API key, the admin token, a clinic's webhook URL), so
one caller at its limit slows no other. Redis is transport, not a gate: when it does not
answer, requests pass unlimited (one warning, then no Redis call for a few seconds), so
the service keeps taking messages through an outage.
"""

import hashlib
import logging
import math
import time
from collections.abc import Callable
from typing import cast

from limits import RateLimitItemPerMinute
from limits.aio.storage import RedisStorage
from limits.aio.storage.redis.redispy import RedispyBridge
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from redis.asyncio import Redis

from app.core.errors import TooManyRequests

logger = logging.getLogger(__name__)

# Short: a Redis that hangs must not add seconds to every request.
REDIS_TIMEOUT_SECONDS = 0.5
# After Redis failed, requests go unlimited this long before it is tried again.
PAUSE_AFTER_FAILURE_SECONDS = 5.0


def webhook_caller(secret: str) -> str:
    """A clinic's webhook URL as a caller, without putting its secret in Redis."""
    return "webhook:" + hashlib.sha256(secret.encode()).hexdigest()[:32]


class RequestLimiter:
    def __init__(self, redis_url: str, *, monotonic: Callable[[], float] = time.monotonic):
        self._storage = RedisStorage(
            f"async+{redis_url}",
            implementation="redispy",
            wrap_exceptions=True,
            key_prefix="ratelimit",
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
        )
        self._window = MovingWindowRateLimiter(self._storage)
        self._monotonic = monotonic
        self._paused_until = -math.inf

    async def check(self, caller: str, per_minute: int) -> None:
        """Count one request; TooManyRequests (429) past `per_minute`."""
        if self._monotonic() < self._paused_until:
            return
        limit = RateLimitItemPerMinute(per_minute)
        try:
            if await self._window.hit(limit, caller):
                return
            window = await self._window.get_window_stats(limit, caller)
        except StorageError as exc:
            self._paused_until = self._monotonic() + PAUSE_AFTER_FAILURE_SECONDS
            logger.warning(
                "rate limits unavailable, requests pass unlimited",
                extra={"error": type(exc.storage_error).__name__},
            )
            return
        retry_after = max(1, math.ceil(window.reset_time - time.time()))
        raise TooManyRequests(per_minute, retry_after)

    async def aclose(self) -> None:
        client = cast(RedispyBridge, self._storage.bridge).get_connection()
        await cast(Redis, client).aclose()
