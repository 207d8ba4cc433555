"""Messages created, sent, failed and cancelled, by type and provider, counted from the
messages themselves at scrape time.

Rows are never deleted while a clinic exists (erasure and retention blank their texts),
so each count only grows: a counter, and right whichever processes made the messages.
Creating and cancelling happen in many places and in bulk statements; counting the rows
needs no hook in any of them. One pass over the table per scrape."""

from prometheus_client.core import CounterMetricFamily
from sqlalchemy import Integer, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from app.messages.models import MessageStatus, message_table

_message = message_table.c
# Until a worker hands it over, a message has no provider.
NO_PROVIDER = "none"

_COUNTED: dict[str, tuple[str, ColumnElement[bool] | None]] = {
    "created": ("Messages created.", None),
    "sent": ("Messages handed to a provider.", _message.sent_at.is_not(None)),
    "failed": ("Messages that failed.", _message.status == MessageStatus.FAILED),
    "cancelled": ("Messages cancelled.", _message.status == MessageStatus.CANCELLED),
}


def _count_of(condition: ColumnElement[bool] | None) -> ColumnElement[int]:
    if condition is None:
        return func.count()
    return func.coalesce(func.sum(condition.cast(Integer)), 0)


async def message_counters(session: AsyncSession) -> list[CounterMetricFamily]:
    provider = func.coalesce(_message.provider, NO_PROVIDER)
    rows = (
        await session.execute(
            select(
                _message.type,
                provider,
                *(_count_of(condition) for _, condition in _COUNTED.values()),
            ).group_by(_message.type, provider)
        )
    ).all()
    families = {
        what: CounterMetricFamily(
            f"clinic_sms_messages_{what}", documentation, labels=["type", "provider"]
        )
        for what, (documentation, _) in _COUNTED.items()
    }
    for message_type, provider_name, *counts in rows:
        for family, count in zip(families.values(), counts, strict=True):
            family.add_metric([message_type, provider_name], int(count))
    return list(families.values())
