"""Posting events to the practice system: claim due deliveries, POST them with no
transaction open, record every attempt, back off, and disable a subscription that keeps
failing.

At least once: a worker that dies mid-POST leaves the claim to expire and another worker
posts again; receivers deduplicate on `Webhook-Id`.
"""

import asyncio
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import bulk_insert, bulk_update
from app.core.jobs import enqueue_after_commit
from app.core.models import new_id
from app.events.models import (
    DeliveryStatus,
    event_attempt_table,
    event_delivery_table,
    event_subscription_table,
)
from app.events.service import deliver_job
from app.events.signing import event_body, signed_headers, signing_secrets
from app.events.targets import Pinned, TargetCheck, pinned_request

logger = logging.getLogger(__name__)

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
CONCURRENCY = 16
# Longer than a POST can take, so a claim only lapses when its worker died.
CLAIM_LEASE = timedelta(seconds=60)
FIRST_RETRY = timedelta(seconds=10)
LONGEST_RETRY = timedelta(hours=6)
JITTER = 0.2
GIVE_UP_AFTER = timedelta(hours=24)
DISABLE_AFTER_FAILED_EVENTS = 50
DISABLE_AFTER_FAILING_FOR = timedelta(hours=24)
MAX_ERROR_LENGTH = 300
# Network errors (no status), 5xx and 429 may pass; any other answer will not change.
RETRYABLE_STATUS = frozenset({429})

_delivery = event_delivery_table.c
_subscription = event_subscription_table.c

Random = Callable[[], float]


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    id: uuid.UUID
    subscription_id: uuid.UUID
    url: str
    secrets: tuple[str, ...]  # the current one first, then a rotated-out one still valid
    event_id: uuid.UUID
    event_type: str
    data: dict[str, Any]
    created_at: datetime
    attempt: int


@dataclass(frozen=True, slots=True)
class AttemptResult:
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def retryable(self) -> bool:
        status = self.status_code
        return status is None or status >= 500 or status in RETRYABLE_STATUS


def retry_delay(attempt: int, random: Random) -> timedelta:
    """Doubling from 10 s, at most 6 h, ±20 % jitter so retries of many events spread."""
    delay = min(FIRST_RETRY * (1 << (attempt - 1)), LONGEST_RETRY)
    return delay * (1 - JITTER + 2 * JITTER * random())


async def claim_due(session: AsyncSession, *, now: datetime, limit: int) -> list[ClaimedDelivery]:
    rows = (
        await session.execute(
            select(
                _delivery.id,
                _delivery.subscription_id,
                _subscription.url,
                _subscription.secret,
                _subscription.previous_secret,
                _subscription.previous_secret_expires_at,
                _delivery.event_id,
                _delivery.event_type,
                _delivery.data,
                _delivery.created_at,
                _delivery.attempts,
            )
            .join(event_subscription_table, _subscription.id == _delivery.subscription_id)
            .where(_delivery.status == DeliveryStatus.PENDING, _delivery.next_attempt_at <= now)
            .order_by(_delivery.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True, of=event_delivery_table)
        )
    ).all()
    if not rows:
        return []
    await session.execute(
        update(event_delivery_table)
        .where(_delivery.id.in_([row.id for row in rows]))
        .values(next_attempt_at=now + CLAIM_LEASE, attempts=_delivery.attempts + 1)
    )
    return [
        ClaimedDelivery(
            id=row.id,
            subscription_id=row.subscription_id,
            url=row.url,
            secrets=signing_secrets(
                row.secret, row.previous_secret, row.previous_secret_expires_at, now=now
            ),
            event_id=row.event_id,
            event_type=row.event_type,
            data=row.data,
            created_at=row.created_at,
            attempt=row.attempts + 1,
        )
        for row in rows
    ]


def _error_text(exc: httpx.HTTPError) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:MAX_ERROR_LENGTH]


async def post_event(
    http: httpx.AsyncClient,
    delivery: ClaimedDelivery,
    *,
    now: datetime,
    check_target: TargetCheck | None = None,
) -> AttemptResult:
    verdict = None if check_target is None else await _checked(check_target, delivery.url)
    if isinstance(verdict, str):
        return AttemptResult(now, None, verdict[:MAX_ERROR_LENGTH], 0)
    body = event_body(delivery.event_id, delivery.event_type, delivery.created_at, delivery.data)
    headers = signed_headers(delivery.secrets, delivery.event_id, int(now.timestamp()), body)
    url: str | httpx.URL = delivery.url
    extensions: dict[str, Any] = {}
    if isinstance(verdict, Pinned):
        url, host, extensions = pinned_request(delivery.url, verdict)
        headers |= host
    started = time.perf_counter()
    try:
        response = await http.post(
            url, content=body, headers=headers, timeout=TIMEOUT, extensions=extensions
        )
    except httpx.HTTPError as exc:
        return AttemptResult(now, None, _error_text(exc), _elapsed_ms(started))
    error = None if response.is_success else f"HTTP {response.status_code}"
    return AttemptResult(now, response.status_code, error, _elapsed_ms(started))


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


async def _checked(check_target: TargetCheck, url: str) -> str | Pinned | None:
    """A check that fails is a refused attempt for this event, not a lost batch."""
    try:
        return await check_target(url)
    except Exception as exc:
        return f"the URL could not be checked ({type(exc).__name__})"


async def post_all(
    http: httpx.AsyncClient,
    deliveries: Sequence[ClaimedDelivery],
    *,
    now: datetime,
    check_target: TargetCheck | None = None,
) -> list[AttemptResult]:
    """POST each event; `check_target` (production) refuses private addresses first."""
    semaphore = asyncio.Semaphore(CONCURRENCY)

    async def one(delivery: ClaimedDelivery) -> AttemptResult:
        async with semaphore:
            return await post_event(http, delivery, now=now, check_target=check_target)

    return list(await asyncio.gather(*(one(delivery) for delivery in deliveries)))


@dataclass
class DeliveryStats:
    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    disabled_subscriptions: int = 0


def _attempt_row(delivery: ClaimedDelivery, result: AttemptResult) -> dict[str, Any]:
    return {
        "id": new_id(),
        "delivery_id": delivery.id,
        "attempt": delivery.attempt,
        "attempted_at": result.attempted_at,
        "status_code": result.status_code,
        "error": result.error,
        "duration_ms": result.duration_ms,
        "succeeded": result.succeeded,
    }


@dataclass
class _Outcomes:
    """Update rows per outcome, for one statement each."""

    delivered: list[dict[str, Any]] = field(default_factory=list)
    retry: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)


def _classify(
    deliveries: Sequence[ClaimedDelivery],
    results: Sequence[AttemptResult],
    *,
    now: datetime,
    random: Random,
) -> _Outcomes:
    outcomes = _Outcomes()
    for delivery, result in zip(deliveries, results, strict=True):
        last = {
            "id": delivery.id,
            "last_status_code": result.status_code,
            "last_error": result.error,
        }
        if result.succeeded:
            outcomes.delivered.append(last)
            continue
        retry_at = now + retry_delay(delivery.attempt, random)
        if result.retryable and retry_at <= delivery.created_at + GIVE_UP_AFTER:
            outcomes.retry.append(last | {"next_attempt_at": retry_at})
        else:
            outcomes.failed.append(last)
    return outcomes


async def record_results(
    session: AsyncSession,
    deliveries: Sequence[ClaimedDelivery],
    results: Sequence[AttemptResult],
    *,
    now: datetime,
    random: Random,
) -> DeliveryStats:
    """One attempt row per POST, then one update per outcome for the whole batch."""
    deliveries, results = await _still_there(session, deliveries, results)
    await bulk_insert(
        session,
        event_attempt_table,
        [_attempt_row(d, r) for d, r in zip(deliveries, results, strict=True)],
    )
    outcomes = _classify(deliveries, results, now=now, random=random)
    pending = [_delivery.status == DeliveryStatus.PENDING]
    common = {"last_attempt_at": now}
    delivered = {"status": DeliveryStatus.DELIVERED, "delivered_at": now}
    failed = {"status": DeliveryStatus.FAILED, "failed_at": now}
    table = event_delivery_table
    await bulk_update(session, table, outcomes.delivered, where=pending, values=common | delivered)
    await bulk_update(session, table, outcomes.retry, where=pending, values=common)
    await bulk_update(session, table, outcomes.failed, where=pending, values=common | failed)
    if outcomes.retry:
        first_retry = min(row["next_attempt_at"] for row in outcomes.retry)
        enqueue_after_commit(session, deliver_job(first_retry))
    gave_up: set[uuid.UUID] = {row["id"] for row in outcomes.failed}
    disabled = await _update_health(session, deliveries, results, gave_up, now=now)
    return DeliveryStats(
        len(deliveries),
        len(outcomes.delivered),
        len(outcomes.retry),
        len(outcomes.failed),
        disabled,
    )


async def _still_there(
    session: AsyncSession,
    deliveries: Sequence[ClaimedDelivery],
    results: Sequence[AttemptResult],
) -> tuple[list[ClaimedDelivery], list[AttemptResult]]:
    """Without those whose subscription was deleted while they were posted (cascade)."""
    rows = await session.execute(
        select(_delivery.id)
        .where(_delivery.id.in_([delivery.id for delivery in deliveries]))
        .with_for_update()
    )
    kept = set(rows.scalars())
    pairs = [(d, r) for d, r in zip(deliveries, results, strict=True) if d.id in kept]
    return [d for d, _ in pairs], [r for _, r in pairs]


async def _update_health(
    session: AsyncSession,
    deliveries: Sequence[ClaimedDelivery],
    results: Sequence[AttemptResult],
    gave_up: set[uuid.UUID],
    *,
    now: datetime,
) -> int:
    """A success resets a subscription's count of events given up on; more of those in a
    row than allowed (or failing attempts for a day) disable it."""
    succeeded: set[uuid.UUID] = set()
    failed_events: dict[uuid.UUID, int] = defaultdict(int)
    for delivery, result in zip(deliveries, results, strict=True):
        if result.succeeded:
            succeeded.add(delivery.subscription_id)
        else:
            failed_events[delivery.subscription_id] += 1 if delivery.id in gave_up else 0
    if succeeded:
        await session.execute(
            update(event_subscription_table)
            .where(_subscription.id.in_(succeeded))
            .values(consecutive_failures=0, failing_since=None)
        )
    failing = set(failed_events) - succeeded
    for subscription_id in failing:
        await session.execute(
            update(event_subscription_table)
            .where(_subscription.id == subscription_id)
            .values(
                consecutive_failures=_subscription.consecutive_failures
                + failed_events[subscription_id],
                failing_since=func.coalesce(_subscription.failing_since, now),
            )
        )
    return await _disable_unhealthy(session, failing, now=now) if failing else 0


def _hours(span: timedelta) -> int:
    return int(span.total_seconds() // 3600)


async def _disable_unhealthy(
    session: AsyncSession, subscription_ids: set[uuid.UUID], *, now: datetime
) -> int:
    too_many = _subscription.consecutive_failures >= DISABLE_AFTER_FAILED_EVENTS
    too_long = _subscription.failing_since <= now - DISABLE_AFTER_FAILING_FOR
    reason = case(
        (
            too_many,
            f"disabled after {DISABLE_AFTER_FAILED_EVENTS} events in a row could not be delivered",
        ),
        else_=f"disabled after deliveries failed for {_hours(DISABLE_AFTER_FAILING_FOR)} hours",
    )
    disabled = list(
        (
            await session.execute(
                update(event_subscription_table)
                .where(
                    _subscription.id.in_(subscription_ids),
                    _subscription.disabled_at.is_(None),
                    or_(too_many, too_long),
                )
                .values(disabled_at=now, disabled_reason=reason)
                .returning(_subscription.id)
            )
        ).scalars()
    )
    if not disabled:
        return 0
    await session.execute(
        update(event_delivery_table)
        .where(_delivery.subscription_id.in_(disabled), _delivery.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.FAILED, failed_at=now, last_error="subscription disabled")
    )
    logger.warning(
        "event subscriptions disabled", extra={"subscription_ids": [str(i) for i in disabled]}
    )
    return len(disabled)
