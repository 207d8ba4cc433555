"""Transaction-level advisory locks on PostgreSQL, for work that row locks cannot order:
rows that do not exist yet, or rows each transaction finds in its own order.

PostgreSQL keeps every lock in one shared table of about ten thousand entries for the
whole server, so a transaction should hold tens of these, not thousands."""

import hashlib
from collections.abc import Iterable

from sqlalchemy import BigInteger, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

# UNION ALL runs its branches in order, and unnest gives the array's elements in theirs.
_HOLD = text(
    "SELECT pg_advisory_xact_lock_shared(under) FROM unnest(:under) AS under "
    "UNION ALL (SELECT pg_advisory_xact_lock(key) FROM unnest(:keys) AS key)"
).bindparams(
    bindparam("under", type_=ARRAY(BigInteger)), bindparam("keys", type_=ARRAY(BigInteger))
)


def lock_key(*parts: object) -> int:
    """A signed 64-bit key for `parts`; two names sharing one only wait for each other."""
    name = "\x1f".join(str(part) for part in parts).encode()
    return int.from_bytes(hashlib.blake2b(name, digest_size=8).digest(), "big", signed=True)


async def hold(session: AsyncSession, keys: Iterable[int], *, under: int | None = None) -> None:
    """Hold each key's lock until the transaction ends, taken in ascending order in one
    statement (after a shared hold of `under`, when given): two transactions wanting
    overlapping sets queue rather than deadlock. SQLite has one writer at a time and takes
    none."""
    ordered = sorted(set(keys))
    shared = [] if under is None else [under]
    if (ordered or shared) and session.get_bind().dialect.name == "postgresql":
        await session.execute(_HOLD, {"under": shared, "keys": ordered})
