"""Who gets a message: the patient, their guardians, or a bare number, and who is skipped."""

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from app.clinic_settings.schemas import ReminderPolicy
from app.messages.models import RecipientRole
from app.messages.schemas import SkipReason
from app.patients.models import PatientView
from app.templates.defaults import TemplateType

# Marketing needs the patient's marketing consent and respects STOPP; service messages do not.
CONSENT_REQUIRED_TYPES = frozenset({TemplateType.MARKETING, TemplateType.OFFER})


@dataclass(frozen=True, slots=True)
class Recipient:
    role: RecipientRole
    name: str | None
    number: str | None
    number_problem: str | None
    wants_sms: bool


@dataclass(frozen=True, slots=True)
class Skipped:
    recipient: Recipient
    reason: SkipReason


def _patient_recipient(patient: PatientView) -> Recipient:
    return Recipient(
        RecipientRole.PATIENT,
        f"{patient.first_name} {patient.last_name}",
        patient.mobile,
        patient.mobile_problem,
        patient.wants_sms,
    )


def _guardian_recipient(guardian: dict[str, Any]) -> Recipient:
    return Recipient(
        role=RecipientRole.GUARDIAN,
        name=guardian.get("name"),
        number=guardian.get("mobile"),
        number_problem=guardian.get("mobile_problem"),
        wants_sms=bool(guardian.get("wants_sms")),
    )


def skip_reason(
    recipient: Recipient,
    *,
    patient: PatientView,
    message_type: str,
    policy: ReminderPolicy,
    automatic: bool,
    blocked: Collection[str] = frozenset(),
) -> SkipReason | None:
    """Why this recipient gets no SMS of this type, or None; `blocked` are the numbers
    that answered STOPP."""
    if recipient.number is None:
        return "no_mobile"
    if recipient.number_problem is not None:
        return "invalid_number"
    if message_type in CONSENT_REQUIRED_TYPES:
        if patient.opted_out_at is not None or recipient.number in blocked:
            return "opted_out"
        return None if patient.marketing_consent else "no_marketing_consent"
    if automatic and policy is ReminderPolicy.NONE:
        return "policy_none"
    if policy is ReminderPolicy.OPTED_IN_ONLY and not recipient.wants_sms:
        return "no_consent"
    return None


def patient_recipients(
    patient: PatientView,
    *,
    message_type: str,
    policy: ReminderPolicy,
    include_guardians: bool,
    automatic: bool = False,
    blocked: Collection[str] = frozenset(),
) -> tuple[list[Recipient], list[Skipped]]:
    """The patient and (when asked) guardians with consent, split into textable and skipped."""
    candidates = [_patient_recipient(patient)]
    if include_guardians:
        candidates += [_guardian_recipient(guardian) for guardian in patient.guardians]
    chosen: list[Recipient] = []
    skipped: list[Skipped] = []
    taken: set[str | None] = set()
    for recipient in candidates:
        reason = skip_reason(
            recipient,
            patient=patient,
            message_type=message_type,
            policy=policy,
            automatic=automatic,
            blocked=blocked,
        )
        if reason is None and recipient.role is RecipientRole.GUARDIAN and not recipient.wants_sms:
            reason = "no_consent"
        if reason is None and recipient.number in taken:
            reason = "duplicate"  # a child registered with a parent's mobile: one SMS, not two
        if reason is None:
            chosen.append(recipient)
            taken.add(recipient.number)
        else:
            skipped.append(Skipped(recipient, reason))
    return chosen, skipped


def numbers_of(patient: PatientView) -> list[str | None]:
    """Every number the patient's messages may go to: their own and their guardians'."""
    return [patient.mobile, *(guardian.get("mobile") for guardian in patient.guardians)]
