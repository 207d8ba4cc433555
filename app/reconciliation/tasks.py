"""The worker's reconciliation job (cron): settle what can no longer be reported, then
look up overdue messages at their providers, outside any transaction."""

import asyncio
import logging
import uuid
from typing import Any

from app.core.db import session_scope
from app.core.jobs import push_jobs, take_pending_jobs
from app.deliveries.reports import ParsedReport
from app.messages.claim import settings_of
from app.reconciliation.lookups import StatusLookup, lookup_for
from app.reconciliation.service import (
    DueLookup,
    claim_lookups,
    settle_without_report,
    store_looked_up,
)

logger = logging.getLogger(__name__)

RECONCILE_JOB = "reconciliation.run"
LOOKUP_CONCURRENCY = 8


async def reconcile(ctx: dict[str, Any]) -> dict[str, int]:
    now = ctx["clock"].now()
    async for session in session_scope(ctx["sessionmaker"]):
        settled = await settle_without_report(session, now=now)
        due = await claim_lookups(session, now=now)
        settings = await settings_of(session, {lookup.clinic_id for lookup in due})
    config = ctx["settings"]
    base_urls = {"twilio": config.twilio_base_url, "sinch": config.sinch_base_url}
    lookups: dict[tuple[uuid.UUID, str], StatusLookup | None] = {
        (clinic_id, provider): lookup_for(
            provider, settings[clinic_id].provider_credentials, ctx["http"], base_urls
        )
        for clinic_id, provider in {(lookup.clinic_id, lookup.provider) for lookup in due}
    }
    found = await _look_up_all(due, lookups)
    async for session in session_scope(ctx["sessionmaker"]):
        stored = await store_looked_up(session, found, now=now)
        jobs = take_pending_jobs(session)
    await push_jobs(ctx["redis"], jobs, now=now)
    counts = {"settled_no_report": settled, "looked_up": len(due), "reports_found": stored}
    if settled or due:
        logger.info("reconciliation", extra=counts)
    return counts


async def _look_up_all(
    due: list[DueLookup], lookups: dict[tuple[uuid.UUID, str], StatusLookup | None]
) -> list[tuple[DueLookup, ParsedReport]]:
    semaphore = asyncio.Semaphore(LOOKUP_CONCURRENCY)

    async def one(lookup: DueLookup) -> ParsedReport | None:
        status = lookups[(lookup.clinic_id, lookup.provider)]
        if status is None:  # its credentials are gone: settled when the window closes
            return None
        async with semaphore:
            return await status.look_up(lookup.request)

    reports = await asyncio.gather(*(one(lookup) for lookup in due))
    return [(lookup, report) for lookup, report in zip(due, reports, strict=True) if report]


__all__ = ["RECONCILE_JOB", "reconcile"]
