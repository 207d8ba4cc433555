"""Pending work follows the patient (DESIGN §5): when a patient's numbers or consent change,
their messages not yet handed to a provider change with them, in the same transaction.

Only `pending` rows are touched, each statement guarded by that status: a message already
`sending` is never changed (at most once comes first). Re-addressing one person's messages
is one statement however many there are.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.clinic_settings.models import ClinicSettings
from app.clinic_settings.schemas import ReminderPolicy
from app.events.messages import record_message_status_events
from app.messages.ending import end_pending
from app.messages.models import MessageStatus, RecipientRole, message_table
from app.messages.recipients import CONSENT_REQUIRED_TYPES, Recipient, numbers_of, skip_reason
from app.optouts.service import blocked_numbers
from app.patients.models import PatientView
from app.templates.defaults import TemplateType

_message = message_table.c
_CONSENT_TYPES = [kind.value for kind in CONSENT_REQUIRED_TYPES]


@dataclass(frozen=True, slots=True)
class Person:
    """One recipient of a patient's messages as stored before or after a change."""

    role: RecipientRole
    name: str | None
    number: str | None
    number_problem: str | None
    wants_sms: bool
    # The patient's, for guardians too: marketing to a guardian follows the patient's consent.
    marketing_consent: bool

    def recipient(self) -> Recipient:
        return Recipient(self.role, self.name, self.number, self.number_problem, self.wants_sms)


def people_of(patient: PatientView) -> list[Person]:
    patient_person = Person(
        RecipientRole.PATIENT,
        f"{patient.first_name} {patient.last_name}",
        patient.mobile,
        patient.mobile_problem,
        patient.wants_sms,
        patient.marketing_consent,
    )
    guardians = [_guardian(guardian, patient.marketing_consent) for guardian in patient.guardians]
    return [patient_person, *guardians]


def addressing(people: Sequence[Person]) -> list[Person]:
    """What decides where and whether messages go: a new name alone changes neither."""
    return [replace(person, name=None) for person in people]


def _guardian(guardian: dict[str, Any], marketing_consent: bool) -> Person:
    return Person(
        RecipientRole.GUARDIAN,
        guardian.get("name"),
        guardian.get("mobile"),
        guardian.get("mobile_problem"),
        bool(guardian.get("wants_sms")),
        marketing_consent,
    )


def _same_guardian(before: Person, after: Sequence[Person]) -> Person | None:
    """A guardian is the same person when the name is the same, else when the number is."""
    guardians = [person for person in after if person.role is RecipientRole.GUARDIAN]
    by_name = [g for g in guardians if (g.name or "").casefold() == (before.name or "").casefold()]
    by_number = [g for g in guardians if before.number and g.number == before.number]
    return next(iter(by_name or by_number), None)


def _counterpart(before: Person, after: Sequence[Person]) -> Person | None:
    if before.role is RecipientRole.PATIENT:
        return after[0]
    return _same_guardian(before, after)


def _reason(
    person: Person,
    patient: PatientView,
    message_type: str,
    policy: ReminderPolicy,
    blocked: frozenset[str],
) -> str | None:
    reason = skip_reason(
        person.recipient(),
        patient=patient,
        message_type=message_type,
        policy=policy,
        automatic=False,
        blocked=blocked,
    )
    if reason is None and person.role is RecipientRole.GUARDIAN and not person.wants_sms:
        return "no_consent"  # guardians only ever get SMS they asked for
    return reason


async def follow_patient(
    session: AsyncSession,
    *,
    clinic_id: uuid.UUID,
    settings: ClinicSettings,
    patient_id: uuid.UUID,
    before: Sequence[Person],
    patient: PatientView,
    now: datetime,
) -> None:
    """Re-address, cancel or fail the pending messages of every person of the patient."""
    after = people_of(patient)
    policy = ReminderPolicy(settings.reminder_policy)
    blocked = await blocked_numbers(session, clinic_id=clinic_id, numbers=numbers_of(patient))
    ended: list[uuid.UUID] = []
    for old in before:
        if old.number is None:
            continue  # nothing was addressed to this person
        mine = [
            _message.clinic_id == clinic_id,
            _message.patient_id == patient_id,
            _message.recipient_role == old.role.value,
            _message.to_number == old.number,
            _message.status == MessageStatus.PENDING,
        ]
        new = _counterpart(old, after)
        if new is None:  # the guardian is no longer the patient's
            ended += await end_pending(session, mine, "no_mobile", now)
            continue
        if new.number is not None and new.number_problem is None and new.number != old.number:
            await session.execute(
                update(message_table)
                .where(*mine)
                .values(to_number=new.number, recipient_name=new.name)
                .execution_options(synchronize_session=False)
            )
            mine[3] = _message.to_number == new.number
        marketing = _reason(new, patient, TemplateType.MARKETING.value, policy, blocked)
        service = _reason(new, patient, TemplateType.REMINDER_1.value, policy, blocked)
        if marketing is not None:
            consent_typed = [*mine, _message.type.in_(_CONSENT_TYPES)]
            ended += await end_pending(session, consent_typed, marketing, now)
        if service is not None:
            service_typed = [*mine, _message.type.not_in(_CONSENT_TYPES)]
            ended += await end_pending(session, service_typed, service, now)
    await record_message_status_events(session, ended, now=now)
