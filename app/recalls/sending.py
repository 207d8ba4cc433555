"""Making recall messages: the planner's run for one clinic, in one transaction.

The recalls whose send time comes within `PLAN_AHEAD` are looked at: a patient with a
booked appointment ahead, no one to text, or a text that cannot be made ends the recall
with a reason; the rest get send times under the daily cap (`planning`) and messages,
which the worker then sends like any other."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from app.clinic_settings.models import ClinicSettings
from app.clinic_settings.schemas import ReminderPolicy
from app.core.db import bulk_update
from app.messages.compose import Content, merge_values
from app.messages.outgoing import outgoing
from app.messages.recipients import Recipient, patient_recipients
from app.messages.rows import MessageRow, new_message_row, shared_columns
from app.messages.schemas import MessageContent
from app.messages.service import store_messages
from app.messages.window import SendKind
from app.recalls import queries
from app.recalls.context import RecallContext, load_context
from app.recalls.models import RecallOutcome, recall_table
from app.recalls.planning import PLAN_AHEAD, RECALL_VALIDITY, Assignment, Candidate, assign, due_by
from app.recalls.service import HAS_APPOINTMENT
from app.sms.text import TextAnalysis
from app.templates import service as templates_service
from app.templates.defaults import TemplateType
from app.templates.merge import TemplateSyntaxError, parse

BATCH_SIZE = 1000
"""Recalls looked at per clinic and run; more wait for the next run."""


@dataclass
class PlanStats:
    made: int = 0
    skipped: int = 0
    held_back: int = 0
    """Ready to go, but past the daily cap: a later day takes them."""


@dataclass(frozen=True, slots=True)
class _Sendable:
    row: Row[Any]
    texts: list[tuple[Recipient, str, TextAnalysis]]
    """Each recipient's text: a guardian's copy reads differently ([Mottaker], [du])."""


@dataclass
class _Decisions:
    sendable: dict[uuid.UUID, _Sendable] = field(default_factory=dict)
    skips: list[dict[str, Any]] = field(default_factory=list)

    def skip(self, row: Row[Any], reason: str, now: datetime) -> None:
        # A patient who books after a recall went is what the recall was for.
        booked = reason == HAS_APPOINTMENT and row.attempts > 0
        outcome = RecallOutcome.BOOKED if booked else RecallOutcome.SKIPPED
        self.skips.append(
            {
                "id": row.recall_id,
                "outcome": outcome.value,
                "skip_reason": None if booked else reason,
                "updated_at": now,
            }
        )


def _candidate(row: Row[Any]) -> Candidate:
    return Candidate(row.recall_id, row.due_date, row.attempts, row.last_attempt_at)


async def _content(session: AsyncSession, context: RecallContext) -> Content | None:
    """The recall template with the rule's [URL]; None when the template does not parse."""
    rules = context.rules
    template = await templates_service.get_template(
        session,
        clinic_id=context.clinic_id,
        template_type=TemplateType(rules.recall_template_type),
        now=context.now,
    )
    try:
        parsed = parse(template.text)
    except TemplateSyntaxError:
        return None
    values = {"URL": rules.recall_booking_url} if rules.recall_booking_url else {}
    request = MessageContent.model_construct(merge_values=values)
    now = context.now
    kind = SendKind.FLEXIBLE
    return Content(
        rules.recall_template_type, parsed, template.allow_reply, now, now, now, kind, request
    )


def _render(
    content: Content | None, settings: ClinicSettings, row: Row[Any], recipients: list[Recipient]
) -> list[tuple[Recipient, str, TextAnalysis]] | str:
    """The recall's text for each recipient as it is sent (smart-encoded), or why it cannot
    be made."""
    if content is None:
        return "template_error"
    texts: list[tuple[Recipient, str, TextAnalysis]] = []
    for recipient in recipients:
        try:
            text = content.template.render(merge_values(content, settings, row, recipient))
        except TemplateSyntaxError:
            return "template_error"
        sent = outgoing(text, settings)
        if sent.uncarriable:
            return "unsupported_characters"
        analysis = sent.encoded.analysis
        if analysis.segments > settings.max_segments:
            return "too_long"
        texts.append((recipient, sent.encoded.text, analysis))
    return texts


async def _decide(
    session: AsyncSession, context: RecallContext, rows: Sequence[Row[Any]], content: Content | None
) -> _Decisions:
    settings, now = context.settings, context.now
    booked = await queries.with_booking_ahead(
        session, context.clinic_id, [row.id for row in rows], now
    )
    decisions = _Decisions()
    for row in rows:
        recipients, skipped = patient_recipients(
            row,
            message_type=context.rules.recall_template_type,
            policy=ReminderPolicy(settings.reminder_policy),
            include_guardians=settings.include_guardians,
            automatic=True,
        )
        if row.id in booked:
            decisions.skip(row, HAS_APPOINTMENT, now)
        elif not recipients:
            decisions.skip(row, skipped[0].reason, now)
        elif isinstance(rendered := _render(content, settings, row, recipients), str):
            decisions.skip(row, rendered, now)
        else:
            decisions.sendable[row.recall_id] = _Sendable(row, rendered)
    return decisions


def _made(
    context: RecallContext, content: Content, assignment: Assignment, sendable: _Sendable
) -> tuple[list[MessageRow], dict[str, Any]]:
    """The assignment's message rows, and the recall's update."""
    at = assignment.send_at
    timed = replace(content, send_after=at, expires_at=at + RECALL_VALIDITY, send_at=at)
    shared = shared_columns(
        clinic_id=context.clinic_id, settings=context.settings, content=timed, now=context.now
    )
    rows = [
        new_message_row(
            shared,
            recipient=recipient,
            patient=sendable.row,
            text=text,
            analysis=analysis,
            price_per_segment=context.settings.price_per_segment,
        )
        for recipient, text, analysis in sendable.texts
    ]
    update = {
        "id": sendable.row.recall_id,
        "attempts": sendable.row.attempts + 1,
        "last_attempt_at": at,
        "message_id": rows[0]["id"],
        "updated_at": context.now,
    }
    return rows, update


async def plan_clinic(session: AsyncSession, clinic_id: uuid.UUID, now: datetime) -> PlanStats:
    """Make the clinic's recall messages that go within `PLAN_AHEAD` of `now`."""
    context = await load_context(session, clinic_id, now, lock=True)
    if not context.sending:
        return PlanStats()
    until = now + PLAN_AHEAD
    rows = {
        row.recall_id: row
        for row in await queries.candidate_rows(session, context, until, BATCH_SIZE)
    }
    ready = due_by(
        [_candidate(row) for row in rows.values()], context.timing, context.calendar, until
    )
    if not ready:
        return PlanStats()
    content = await _content(session, context)
    decisions = await _decide(session, context, [rows[c.id] for c in ready], content)
    assignments = assign(
        [candidate for candidate in ready if candidate.id in decisions.sendable],
        context.timing,
        context.calendar,
        until=until,
        daily_cap=context.settings.recall_daily_cap,
        used=await queries.made_per_day(session, context),
    )
    messages: list[MessageRow] = []
    updates: list[dict[str, Any]] = []
    for assignment in assignments:
        assert content is not None  # sendable only with a template
        made, update = _made(
            context, content, assignment, decisions.sendable[assignment.candidate.id]
        )
        messages += made
        updates.append(update)
    await store_messages(session, messages, now=now)
    await bulk_update(session, recall_table, updates)
    await bulk_update(session, recall_table, decisions.skips)
    return PlanStats(
        made=len(assignments),
        skipped=len(decisions.skips),
        held_back=len(decisions.sendable) - len(assignments),
    )
