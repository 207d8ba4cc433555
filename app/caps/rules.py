"""Which messages a cap holds back: a pure function of the limits, what has gone in the
period, and the messages about to go.

A message *would pass a cap* when, sent, it would be the (N+1)th message of its patient's
number today (`max_per_patient_per_day` N), or would take this month's spend over
`monthly_spend_cap`. Service messages (reminders, booking and cancellation confirmations)
go whatever the caps while `cap_exempts_service` is on, but still count and cost: so they
are taken first, and what is left of the cap is for the rest, in order.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from app.clinic_settings.models import ClinicSettings
from app.templates.defaults import TemplateType

CAP_REACHED = "cap_reached"

SERVICE_TYPES = frozenset(
    {
        TemplateType.REMINDER_1,
        TemplateType.REMINDER_2,
        TemplateType.REMINDER_3,
        TemplateType.BOOKING_CONFIRMATION,
        TemplateType.CANCELLATION_CONFIRMATION,
    }
)


class Cap(StrEnum):
    """Named as the clinic setting that sets it."""

    MONTHLY_SPEND = "monthly_spend_cap"
    PER_PATIENT_PER_DAY = "max_per_patient_per_day"


RecipientKey = tuple[uuid.UUID | None, str | None]
"""Whose daily count a message adds to: the patient and the number it goes to (a bare
number's messages have no patient)."""


@dataclass(frozen=True, slots=True)
class Candidate:
    type: str
    cost: Decimal
    patient_id: uuid.UUID | None
    to_number: str | None

    @property
    def key(self) -> RecipientKey:
        return self.patient_id, self.to_number


@dataclass(frozen=True, slots=True)
class Limits:
    monthly_spend_cap: Decimal | None
    max_per_patient_per_day: int | None
    exempts_service: bool

    @classmethod
    def of(cls, settings: ClinicSettings) -> "Limits":
        return cls(
            settings.monthly_spend_cap,
            settings.max_per_patient_per_day,
            settings.cap_exempts_service,
        )

    @property
    def any(self) -> bool:
        return self.monthly_spend_cap is not None or self.max_per_patient_per_day is not None

    def exempt(self, message_type: str) -> bool:
        return self.exempts_service and message_type in SERVICE_TYPES

    def for_send_at(self, send_at: datetime, day_end: datetime, month_end: datetime) -> "Limits":
        """Only the caps whose period a message going at `send_at` falls in: what a later
        period holds is not known yet, and the worker checks again when it goes."""
        return Limits(
            self.monthly_spend_cap if send_at < month_end else None,
            self.max_per_patient_per_day if send_at < day_end else None,
            self.exempts_service,
        )


@dataclass
class Usage:
    """What has gone in the period: this month's spend, today's count per recipient."""

    spent: Decimal = Decimal("0")
    counts: dict[RecipientKey, int] = field(default_factory=dict)

    def take(self, candidate: Candidate) -> None:
        self.spent += candidate.cost
        self.counts[candidate.key] = self.counts.get(candidate.key, 0) + 1


def passed_cap(candidate: Candidate, usage: Usage, limits: Limits) -> Cap | None:
    most = limits.max_per_patient_per_day
    if most is not None and usage.counts.get(candidate.key, 0) >= most:
        return Cap.PER_PATIENT_PER_DAY
    cap = limits.monthly_spend_cap
    if cap is not None and usage.spent + candidate.cost > cap:
        return Cap.MONTHLY_SPEND
    return None


def hold_back(candidates: Sequence[Candidate], usage: Usage, limits: Limits) -> list[Cap | None]:
    """Per candidate, the cap that holds it back, or None; `usage` grows by those that go."""
    held: list[Cap | None] = [None] * len(candidates)
    exempt_first = sorted(
        range(len(candidates)), key=lambda index: not limits.exempt(candidates[index].type)
    )
    for index in exempt_first:
        candidate = candidates[index]
        if not limits.exempt(candidate.type):
            held[index] = passed_cap(candidate, usage, limits)
            if held[index] is not None:
                continue
        usage.take(candidate)
    return held
