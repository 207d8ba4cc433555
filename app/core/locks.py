"""Transaction-level advisory locks on PostgreSQL, for work that row locks cannot order:
rows that do not exist yet, or rows each transaction finds in its own order."""

import hashlib
from collections.abc import Iterable

from sqlalchemy import BigInteger, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

# unnest gives the array's elements in their order: the locks are taken in it.
_HOLD = text("SELECT pg_advisory_xact_lock(key) FROM unnest(:keys) AS key").bindparams(
    bindparam("keys", type_=ARRAY(BigInteger))
)


def lock_key(*parts: object) -> int:
    """A signed 64-bit key for `parts`; two names sharing one only wait for each other."""
    name = "\x1f".join(str(part) for part in parts).encode()
    return int.from_bytes(hashlib.blake2b(name, digest_size=8).digest(), "big", signed=True)


async def hold(session: AsyncSession, keys: Iterable[int]) -> None:
    """Hold each key's lock until the transaction ends, taken in ascending order in one
    statement: two transactions wanting overlapping sets queue rather than deadlock. SQLite
    has one writer at a time and takes none."""
    ordered = sorted(set(keys))
    if ordered and session.get_bind().dialect.name == "postgresql":
        await session.execute(_HOLD, {"keys": ordered})
