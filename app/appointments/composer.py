"""Making an appointment's message rows from its decisions: templates, recipients, texts."""

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.appointments.lookup import appointment_merge_values
from app.appointments.messaging import Context
from app.appointments.models import Appointment
from app.appointments.scheduling import (
    AppointmentSkipReason,
    Decision,
    MessageFacts,
)
from app.clinic_settings.models import ClinicSettings
from app.clinic_settings.schemas import ReminderPolicy
from app.core.models import table_of
from app.messages.compose import (
    Content,
    confirmed_keyword,
    shared_merge_values,
    text_of,
    with_patient,
)
from app.messages.outgoing import outgoing
from app.messages.recipients import Recipient, patient_recipients
from app.messages.rows import MessageRow, ascending_ids, new_message_row, shared_columns
from app.messages.schemas import MessageContent
from app.patients.models import Patient
from app.templates.defaults import DEFAULT_TEMPLATES, TemplateType
from app.templates.merge import ParsedTemplate, TemplateSyntaxError, parse
from app.templates.models import MessageTemplate

_template = table_of(MessageTemplate).c
_TEMPLATES = select(_template.type, _template.text, _template.allow_reply).where(
    _template.clinic_id == bindparam("clinic_id")
)


@dataclass(frozen=True, slots=True)
class _Merge:
    """An appointment's merge values, made once for all of its texts: those every text
    shares, and each recipient's own."""

    request: MessageContent
    shared: dict[str, str]
    recipients: list[dict[str, str]]


def _merge(
    content: Content, settings: ClinicSettings, patient: Patient, recipients: Sequence[Recipient]
) -> _Merge:
    shared = shared_merge_values(content, settings)
    own = [with_patient(shared, patient, recipient) for recipient in recipients]
    return _Merge(content.request, shared, own)


def _text(content: Content, values: dict[str, str]) -> str | None:
    """The text for one recipient; None: the template cannot be rendered."""
    try:
        return text_of(content, values)
    except TemplateSyntaxError:
        return None


class Composer:
    """Turns timed decisions into message rows; the clinic's templates are read once."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self._stored: dict[str, tuple[str, bool]] | None = None
        """The clinic's own templates: text and allow_reply by type."""
        self._templates: dict[str, tuple[ParsedTemplate | None, bool]] = {}
        self._message_ids: Iterator[uuid.UUID] = ascending_ids(0)

    async def load(self, session: AsyncSession, decisions: Sequence[Decision]) -> None:
        """Ready to compose these decisions: the templates read, and an ascending message
        id drawn for each timed one (`ascending_ids`; a guardian's copy gets another)."""
        timed = sum(1 for d in decisions if d.timing)
        if timed:
            await self.load_templates(session)
            self._message_ids = ascending_ids(timed)

    async def load_templates(self, session: AsyncSession) -> None:
        """Plain rows, not ORM objects: a push reads the clinic's templates every time."""
        if self._stored is None:
            rows = await session.execute(_TEMPLATES, {"clinic_id": self.context.clinic_id})
            self._stored = {kind: (text, allow_reply) for kind, text, allow_reply in rows}

    def template(self, kind: str) -> tuple[ParsedTemplate | None, bool]:
        """Parsed on first use: a push needs two or three of the twelve. A type the
        clinic has not written is our default."""
        if kind not in self._templates:
            assert self._stored is not None
            default = DEFAULT_TEMPLATES[TemplateType(kind)]
            text, allow_reply = self._stored.get(kind, (default.text, default.allow_reply))
            self._templates[kind] = (_parsed(text), allow_reply)
        return self._templates[kind]

    def compose(
        self,
        appointment: Appointment,
        patient: Patient,
        decisions: Sequence[Decision],
        *,
        automatic: bool,
    ) -> tuple[list[Decision], list[MessageRow]]:
        """The decisions, with those that cannot be sent turned into skips, and the rows."""
        settings = self.context.settings
        recipients, skipped = patient_recipients(
            patient,
            message_type=TemplateType.REMINDER_1,
            policy=ReminderPolicy(settings.reminder_policy),
            include_guardians=settings.include_guardians,
            automatic=automatic,
        )
        outcome: list[Decision] = []
        rows: list[MessageRow] = []
        merge: _Merge | None = None
        for decision in decisions:
            if decision.timing is not None and not settings.sms_enabled:
                decision = Decision(decision.kind, None, "sms_disabled")
            elif decision.timing is not None and not recipients:
                decision = Decision(decision.kind, None, skipped[0].reason)
            elif decision.timing is not None:
                content = self._content(appointment, decision, merge)
                made: list[MessageRow] = []
                reason: AppointmentSkipReason | None = "template_error"
                if content is not None:
                    merge = merge or _merge(content, settings, patient, recipients)
                    made, reason = self._rows(content, patient, recipients, merge)
                rows += made
                decision = decision if reason is None else Decision(decision.kind, None, reason)
            outcome.append(decision)
        return outcome, rows

    def _content(
        self, appointment: Appointment, decision: Decision, merge: _Merge | None
    ) -> Content | None:
        """What the decision's texts share; None: its template cannot be parsed."""
        assert decision.timing is not None
        timing = decision.timing
        template, allow_reply = self.template(decision.kind)
        if template is None:
            return None
        return Content(
            decision.kind,
            template,
            allow_reply,
            timing.send_after,
            timing.expires_at,
            timing.send_at,
            timing.kind,
            merge.request if merge else self._request(appointment),
            appointment.start_at,
            appointment.patient_id,
            confirmed_keyword(decision.kind, appointment, self.context.settings),
        )

    def _rows(
        self,
        content: Content,
        patient: Patient,
        recipients: Sequence[Recipient],
        merge: _Merge,
    ) -> tuple[list[MessageRow], AppointmentSkipReason | None]:
        context, settings = self.context, self.context.settings
        shared = shared_columns(
            clinic_id=context.clinic_id,
            settings=settings,
            content=content,
            now=context.now,
            values=merge.shared,
        )
        rows: list[MessageRow] = []
        # A guardian's copy reads differently ([Mottaker], [du]).
        for recipient, values in zip(recipients, merge.recipients, strict=True):
            text = _text(content, values)
            if text is None:
                return [], "template_error"
            if not text:
                return [], "confirmed"  # nothing left once it no longer asks for JA
            sent = outgoing(text, settings)
            if sent.uncarriable:
                return [], "unsupported_characters"
            if sent.encoded.analysis.segments > settings.max_segments:
                return [], "too_long"
            rows.append(
                new_message_row(
                    shared,
                    recipient=recipient,
                    patient=patient,
                    text=sent.encoded.text,
                    analysis=sent.encoded.analysis,
                    price_per_segment=settings.price_per_segment,
                    message_id=next(self._message_ids),
                )
            )
        return rows, None

    def _request(self, appointment: Appointment) -> MessageContent:
        """What the messages service reads of a request: the appointment's id, practitioner
        and [Tidspunkt]. Built from stored values, so not validated again."""
        when = appointment_merge_values(appointment, self.context.window.tz)["Tidspunkt"]
        return MessageContent.model_construct(
            appointment_id=appointment.appointment_id,
            practitioner=appointment.practitioner,
            merge_values={"Tidspunkt": when},
        )


def _parsed(text: str) -> ParsedTemplate | None:
    try:
        return parse(text)
    except TemplateSyntaxError:
        return None


def facts_of(row: MessageRow) -> MessageFacts:
    return MessageFacts(
        id=row["id"],
        type=row["type"],
        status=row["status"],
        delivery=None,
        patient_id=row["patient_id"],
        appointment_start_at=row["appointment_start_at"],
        next_attempt_at=row["next_attempt_at"],
        sent_at=None,
    )
