"""Dropping repeated webhooks by the provider's idempotency token (Twilio sends
`I-Twilio-Idempotency-Token` on every webhook, the same on each retry of it).

A token is remembered only once its webhook is stored (committed), so a webhook that
failed is handled when the provider tries again. Two copies in flight at once both pass;
Redis is a shortcut here, not the guarantee: reports and replies are unique by the
provider's ids, and when Redis does not answer a webhook is handled as new.
"""

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

IDEMPOTENCY_HEADERS: Mapping[str, str] = {"twilio": "i-twilio-idempotency-token"}
# Retries come within minutes; a day covers a late redelivery too.
REMEMBERED_FOR_SECONDS = 24 * 3600
MAX_TOKEN_LENGTH = 200


@dataclass(frozen=True, slots=True)
class Repeats:
    redis: Redis | None
    key: str | None  # None: the webhook carries no token

    async def seen(self) -> bool:
        if self.redis is None or self.key is None:
            return False
        try:
            return bool(await self.redis.exists(self.key))
        except (RedisError, OSError):
            logger.warning("duplicate check skipped: Redis did not answer")
            return False

    async def remember(self) -> None:
        if self.redis is None or self.key is None:
            return
        try:
            await self.redis.set(self.key, b"1", ex=REMEMBERED_FOR_SECONDS)
        except (RedisError, OSError):
            logger.warning("idempotency token not remembered: Redis did not answer")


def repeats_of(
    redis: Redis | None, *, secret: str, provider: str, headers: Mapping[str, str]
) -> Repeats:
    header = IDEMPOTENCY_HEADERS.get(provider)
    token = (headers.get(header) or "").strip() if header else ""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return Repeats(redis, None)
    # Hashed: the clinic's URL secret stays out of Redis.
    digest = hashlib.sha256(f"{secret}\n{provider}\n{token}".encode()).hexdigest()[:40]
    return Repeats(redis, f"webhook-seen:{digest}")
