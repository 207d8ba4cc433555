"""Two workers claiming at once never pass a cap together: the second one's count waits
for the first one's claim and counts its batch (PostgreSQL: the clinic's row lock;
SQLite: the single writer)."""

import asyncio

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import FixedClock
from app.messages.claim import claim_due
from app.messages.record import ClaimedMessage
from tests.caps.conftest import configure, messages, queue
from tests.conftest import ClinicAccess


async def test_two_claims_at_once_stay_within_the_spend_cap(
    client: httpx.AsyncClient,
    clinic: ClinicAccess,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    await configure(client, clinic)
    for n in range(4):
        await queue(client, clinic, f"+479123450{n}")
    await client.patch("/v1/settings", headers=clinic.headers, json={"monthly_spend_cap": "1.00"})
    first_claimed = asyncio.Event()

    async def claim(worker_id: str, hold: bool) -> list[ClaimedMessage]:
        async with sessionmaker() as session, session.begin():
            claimed, _ = await claim_due(session, now=clock.now(), limit=2, worker_id=worker_id)
            if hold:  # keep the transaction open while the other worker claims
                first_claimed.set()
                await asyncio.sleep(0.5)
            return claimed

    async def second() -> list[ClaimedMessage]:
        await first_claimed.wait()
        return await claim("worker-b", hold=False)

    first, other = await asyncio.gather(claim("worker-a", hold=True), second())
    assert (len(first), len(other)) == (2, 0)
    statuses = sorted(m.status for m in await messages(sessionmaker))
    assert statuses == ["cancelled", "cancelled", "sending", "sending"]
