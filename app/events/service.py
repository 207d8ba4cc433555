"""The outbox: events become delivery rows in the same transaction as the change they
report, and the worker posts them after commit. Losing Redis loses no event: the sweep
finds due rows in the database."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import in_batches
from app.core.errors import Conflict, InvalidInput, NotFound
from app.core.jobs import PendingJob, enqueue_after_commit
from app.core.models import new_id
from app.core.pagination import decode_cursor, encode_cursor
from app.events.models import (
    DeliveryStatus,
    EventDelivery,
    EventDeliveryAttempt,
    EventSubscription,
    EventType,
    event_attempt_table,
    event_delivery_table,
    event_subscription_table,
)
from app.events.signing import generate_secret
from app.events.targets import PRIVATE_ADDRESS, literal_refusal

DELIVER_JOB = "events.deliver"
MAX_SUBSCRIPTIONS_PER_CLINIC = 20
# How long a rotated-out secret still signs deliveries: time to deploy the new one.
ROTATION_GRACE = timedelta(hours=24)

_subscription = event_subscription_table.c
_delivery = event_delivery_table.c


@dataclass(frozen=True, slots=True)
class NewEvent:
    clinic_id: uuid.UUID
    type: EventType
    data: dict[str, Any]
    patient_id: uuid.UUID | None = None  # whose personal data `data` holds, for erasure


def deliver_job(at: datetime) -> PendingJob:
    """One wake-up per second with due events; the job posts everything due."""
    return PendingJob(DELIVER_JOB, (), job_id=f"events:{int(at.timestamp())}", defer_until=at)


async def _listeners(
    session: AsyncSession, clinic_ids: set[uuid.UUID]
) -> dict[uuid.UUID, list[tuple[uuid.UUID, frozenset[str]]]]:
    # FOR KEY SHARE: a subscription deleted meanwhile is either skipped here or waits for
    # this transaction, so inserting its deliveries never breaks the foreign key (and the
    # send loop's record of a whole batch with it).
    rows = await session.execute(
        select(_subscription.id, _subscription.clinic_id, _subscription.event_types)
        .where(_subscription.clinic_id.in_(clinic_ids), _subscription.disabled_at.is_(None))
        .with_for_update(read=True, key_share=True)
    )
    listeners: dict[uuid.UUID, list[tuple[uuid.UUID, frozenset[str]]]] = {}
    for subscription_id, clinic_id, event_types in rows.all():
        listeners.setdefault(clinic_id, []).append((subscription_id, frozenset(event_types)))
    return listeners


async def record_events(session: AsyncSession, events: Sequence[NewEvent], *, now: datetime) -> int:
    """One delivery row per event and active subscription that wants it, in one insert."""
    if not events:
        return 0
    listeners = await _listeners(session, {event.clinic_id for event in events})
    rows: list[dict[str, Any]] = []
    for event in events:
        event_id = new_id()
        for subscription_id, event_types in listeners.get(event.clinic_id, ()):
            if event.type.value in event_types:
                rows.append(_delivery_row(event, event_id, subscription_id, now))
    if not rows:
        return 0
    # Not bulk_insert: its COPY takes no JSON documents, and these batches are small.
    await session.execute(insert(event_delivery_table), rows)
    enqueue_after_commit(session, deliver_job(now))
    return len(rows)


def _delivery_row(
    event: NewEvent, event_id: uuid.UUID, subscription_id: uuid.UUID, now: datetime
) -> dict[str, Any]:
    return {
        "id": new_id(),
        "clinic_id": event.clinic_id,
        "subscription_id": subscription_id,
        "event_id": event_id,
        "event_type": event.type.value,
        "data": event.data,
        "patient_id": event.patient_id,
        "created_at": now,
        "status": DeliveryStatus.PENDING.value,
        "attempts": 0,
        "next_attempt_at": now,
    }


async def record_event(
    session: AsyncSession,
    *,
    clinic_id: uuid.UUID,
    event_type: EventType,
    data: dict[str, Any],
    now: datetime,
    patient_id: uuid.UUID | None = None,
) -> int:
    """Record one event for every active subscription of the clinic that wants it."""
    event = NewEvent(clinic_id, event_type, data, patient_id)
    return await record_events(session, [event], now=now)


async def create_subscription(
    session: AsyncSession,
    *,
    clinic_id: uuid.UUID,
    url: str,
    event_types: Sequence[EventType],
    description: str | None,
    now: datetime,
    allow_private: bool,
) -> EventSubscription:
    if not allow_private and (refusal := literal_refusal(url)):
        raise InvalidInput.for_field("url", refusal, PRIVATE_ADDRESS)
    existing = await list_subscriptions(session, clinic_id=clinic_id)
    if len(existing) >= MAX_SUBSCRIPTIONS_PER_CLINIC:
        raise Conflict(
            f"A clinic has at most {MAX_SUBSCRIPTIONS_PER_CLINIC} subscriptions; delete one first."
        )
    subscription = EventSubscription(
        clinic_id=clinic_id,
        url=url,
        event_types=[event_type.value for event_type in dict.fromkeys(event_types)],
        secret=generate_secret(),
        description=description,
        created_at=now,
    )
    session.add(subscription)
    await session.flush()
    return subscription


async def list_subscriptions(
    session: AsyncSession, *, clinic_id: uuid.UUID
) -> list[EventSubscription]:
    statement = (
        select(EventSubscription)
        .where(_subscription.clinic_id == clinic_id)
        .order_by(_subscription.created_at, _subscription.id)
    )
    return list((await session.execute(statement)).scalars())


async def get_subscription(
    session: AsyncSession,
    *,
    clinic_id: uuid.UUID,
    subscription_id: uuid.UUID,
    for_update: bool = False,
) -> EventSubscription:
    subscription = await session.get(EventSubscription, subscription_id, with_for_update=for_update)
    if subscription is None or subscription.clinic_id != clinic_id:
        raise NotFound("No event subscription with this id.")
    return subscription


async def rotate_secret(
    session: AsyncSession, *, clinic_id: uuid.UUID, subscription_id: uuid.UUID, now: datetime
) -> tuple[str, datetime]:
    """A new secret signs from now on; the one it replaces signs too for `ROTATION_GRACE`.
    Rotating again within the grace period drops the oldest secret at once. Returns the
    new secret and when the previous one expires."""
    # Locked, so a rotation at the same time keeps this one's new secret valid as previous.
    subscription = await get_subscription(
        session, clinic_id=clinic_id, subscription_id=subscription_id, for_update=True
    )
    expires_at = now + ROTATION_GRACE
    subscription.previous_secret = subscription.secret
    subscription.previous_secret_expires_at = expires_at
    subscription.secret = generate_secret()
    await session.flush()
    return subscription.secret, expires_at


async def delete_subscription(
    session: AsyncSession, *, clinic_id: uuid.UUID, subscription_id: uuid.UUID
) -> None:
    """Its deliveries go with it (cascade), pending ones included."""
    subscription = await get_subscription(
        session, clinic_id=clinic_id, subscription_id=subscription_id
    )
    await session.delete(subscription)
    await session.flush()


@dataclass(frozen=True, slots=True)
class DeliveryFilters:
    subscription_id: uuid.UUID | None = None
    event_type: EventType | None = None
    status: DeliveryStatus | None = None


def _filtered(statement: Select[EventDelivery], filters: DeliveryFilters) -> Select[EventDelivery]:
    if filters.subscription_id is not None:
        statement = statement.where(_delivery.subscription_id == filters.subscription_id)
    if filters.event_type is not None:
        statement = statement.where(_delivery.event_type == filters.event_type.value)
    if filters.status is not None:
        statement = statement.where(_delivery.status == filters.status.value)
    return statement


def _after_cursor(statement: Select[EventDelivery], cursor: str) -> Select[EventDelivery]:
    created_at, last_id = decode_cursor(cursor, 2)
    try:
        after = (datetime.fromisoformat(created_at), uuid.UUID(last_id))
    except (TypeError, ValueError) as exc:
        raise InvalidInput.for_field("cursor", "not a cursor from this API", "bad_cursor") from exc
    return statement.where(tuple_(_delivery.created_at, _delivery.id) < after)


async def list_deliveries(
    session: AsyncSession,
    *,
    clinic_id: uuid.UUID,
    filters: DeliveryFilters,
    limit: int,
    cursor: str | None,
) -> tuple[list[tuple[EventDelivery, list[EventDeliveryAttempt]]], str | None]:
    """Newest first, each with its attempts (oldest first)."""
    statement = _filtered(select(EventDelivery).where(_delivery.clinic_id == clinic_id), filters)
    if cursor is not None:
        statement = _after_cursor(statement, cursor)
    statement = statement.order_by(_delivery.created_at.desc(), _delivery.id.desc())
    deliveries = list((await session.execute(statement.limit(limit + 1))).scalars())
    page, more = deliveries[:limit], len(deliveries) > limit
    attempts = await _attempts_of(session, [delivery.id for delivery in page])
    next_cursor = encode_cursor(page[-1].created_at.isoformat(), str(page[-1].id)) if more else None
    return [(delivery, attempts.get(delivery.id, [])) for delivery in page], next_cursor


async def _attempts_of(
    session: AsyncSession, delivery_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[EventDeliveryAttempt]]:
    if not delivery_ids:
        return {}
    statement = (
        select(EventDeliveryAttempt)
        .where(event_attempt_table.c.delivery_id.in_(delivery_ids))
        .order_by(event_attempt_table.c.attempt)
    )
    attempts: dict[uuid.UUID, list[EventDeliveryAttempt]] = {}
    for attempt in (await session.execute(statement)).scalars():
        attempts.setdefault(attempt.delivery_id, []).append(attempt)
    return attempts


ERASED_DATA = {"erased": True}


async def erase_reply_events(
    session: AsyncSession, *, clinic_id: uuid.UUID, reply_ids: Sequence[uuid.UUID], now: datetime
) -> None:
    """The `reply.received` events of these replies keep their type and times only."""
    for condition in in_batches(
        session, _delivery.data["reply_id"].as_string(), [str(reply_id) for reply_id in reply_ids]
    ):
        await session.execute(
            update(event_delivery_table)
            .where(
                _delivery.clinic_id == clinic_id,
                _delivery.event_type == EventType.REPLY_RECEIVED,
                condition,
            )
            .values(data=ERASED_DATA, patient_id=None, erased_at=now)
            .execution_options(synchronize_session=False)
        )


async def erase_event_data(
    session: AsyncSession, *, clinic_id: uuid.UUID, patient_id: uuid.UUID, now: datetime
) -> int:
    """Events about an erased patient keep their type and times, not their data; a pending
    one is posted with `{"erased": true}` as its data."""
    result = await session.execute(
        update(event_delivery_table)
        .where(_delivery.clinic_id == clinic_id, _delivery.patient_id == patient_id)
        .values(data=ERASED_DATA, patient_id=None, erased_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
