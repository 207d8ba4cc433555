"""A rule that is on can always be carried out (§7): no automatic message may fail later for a
reason that was knowable when its rule was switched on.

An automatic message has the patient's names, the recipient's name ([Mottaker], [du]) and
the reply keywords; one for an appointment also has its time and practitioner. It has
[Businessphone] only while the clinic has a `business_phone`, and never [URL], [URL1] or
[URL2], which only a caller of `POST /v1/messages` gives, save a recall's [URL]: the recall
rule's `booking_url`, while it is set. Switching a rule on, changing the
settings or changing a template so that an enabled rule's template needs a value it cannot
have is a 422 naming that value.
"""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import FieldError, InvalidInput
from app.reminder_rules.models import ReminderRules
from app.reminder_rules.stored import get_rules
from app.templates.defaults import TemplateType
from app.templates.merge import TemplateSyntaxError, parse
from app.templates.stored import list_templates

_EVERY_MESSAGE = frozenset(
    {"Fornavn", "Etternavn", "Mottaker", "du", "Bekreft", "Avbestill", "Stopp"}
)
_APPOINTMENT = frozenset({"Tidspunkt", "Behandler"})
_FROM_SETTINGS = {"Businessphone": "business_phone"}
"""Merge fields whose value is a clinic setting, by the setting's name."""

Change = Literal["rules", "settings", "template"]


@dataclass(frozen=True, slots=True)
class Gap:
    """An enabled rule whose template uses a merge field its messages will have no value for."""

    rule: str
    template_type: TemplateType
    merge_field: str

    @property
    def missing(self) -> str:
        """The value that is missing: a setting's name, or the merge field."""
        return _FROM_SETTINGS.get(self.merge_field, f"[{self.merge_field}]")

    def why(self) -> str:
        if self.merge_field in _FROM_SETTINGS:
            return f"this clinic has no {self.missing}"
        if self.rule == "recall" and self.merge_field == "URL":
            return "the recall rule has no booking_url"
        if self.merge_field in _APPOINTMENT:
            return f"a {self.template_type.value} message has no appointment for {self.missing}"
        return f"an automatic message has no value for {self.missing}: only a caller gives one"


def enabled_rules(rules: ReminderRules) -> dict[str, TemplateType]:
    """The rules that are on, by their path in the rules document, with the template each
    one's messages use."""
    switches = {
        "reminder_1": (rules.reminder_1_enabled, TemplateType.REMINDER_1),
        "reminder_2": (rules.reminder_2_enabled, TemplateType.REMINDER_2),
        "reminder_3": (rules.reminder_3_enabled, TemplateType.REMINDER_3),
        "booking_confirmation": (rules.booking_confirmation, TemplateType.BOOKING_CONFIRMATION),
        "cancellation_confirmation": (
            rules.cancellation_confirmation,
            TemplateType.CANCELLATION_CONFIRMATION,
        ),
        "thank_you": (rules.thank_you_enabled, TemplateType.THANK_YOU),
        "recall": (rules.recall_enabled, TemplateType(rules.recall_template_type)),
    }
    return {rule: template_type for rule, (on, template_type) in switches.items() if on}


def _available(rule: str, rules: ReminderRules, business_phone: str | None) -> frozenset[str]:
    fields = _EVERY_MESSAGE if rule == "recall" else _EVERY_MESSAGE | _APPOINTMENT
    if rule == "recall" and rules.recall_booking_url:
        fields |= {"URL"}  # the recall's booking link
    return fields | {"Businessphone"} if business_phone else fields


def gaps(
    rules: ReminderRules, texts: Mapping[TemplateType, str], *, business_phone: str | None
) -> list[Gap]:
    """What the enabled rules' templates need and their messages will not have."""
    found: list[Gap] = []
    for rule, template_type in enabled_rules(rules).items():
        try:
            fields = parse(texts[template_type]).fields
        except TemplateSyntaxError:
            continue  # stored texts were checked when saved; a bad one is the composer's skip
        missing = sorted(fields - _available(rule, rules, business_phone))
        found += [Gap(rule, template_type, field) for field in missing]
    return found


async def stored_texts(
    session: AsyncSession, clinic_id: uuid.UUID, now: datetime
) -> dict[TemplateType, str]:
    rows = await list_templates(session, clinic_id=clinic_id, now=now)
    return {TemplateType(row.type): row.text for row in rows}


def _field(gap: Gap, change: Change) -> str:
    if change == "settings" and gap.merge_field in _FROM_SETTINGS:
        return gap.missing
    if change == "template":
        return "text"
    nested = gap.rule not in ("booking_confirmation", "cancellation_confirmation")
    return f"{gap.rule}.enabled" if nested else gap.rule


def _refusal(found: Sequence[Gap], change: Change) -> InvalidInput:
    errors = [
        FieldError(
            field=_field(gap, change),
            reason=(
                f"the {gap.rule} rule is on and its template ({gap.template_type.value}) uses "
                f"[{gap.merge_field}], but {gap.why()}"
            ),
            code="missing_value",
        )
        for gap in found
    ]
    missing = sorted({gap.missing for gap in found})
    detail = (
        f"An enabled rule's messages could not be made: {', '.join(missing)} missing. Set it, "
        "change the template, or switch the rule off."
    )
    return InvalidInput(
        detail,
        errors=errors,
        extra={"missing_values": missing, "rules": sorted({gap.rule for gap in found})},
    )


def require_ready(
    rules: ReminderRules,
    texts: Mapping[TemplateType, str],
    *,
    business_phone: str | None,
    change: Change,
    before: Sequence[Gap] = (),
) -> None:
    """Refuse the change (a 422) where an enabled rule's template would need a value it
    cannot have; the arguments are as they would be after it. Gaps in `before` were there
    already and do not block an unrelated change."""
    new = [gap for gap in gaps(rules, texts, business_phone=business_phone) if gap not in before]
    if new:
        raise _refusal(new, change)


@dataclass(frozen=True, slots=True)
class Readiness:
    """A clinic's rules and template texts as stored, and the gaps they have now."""

    rules: ReminderRules
    texts: dict[TemplateType, str]
    gaps: list[Gap]


async def current(
    session: AsyncSession, clinic_id: uuid.UUID, business_phone: str | None, now: datetime
) -> Readiness:
    rules = await get_rules(session, clinic_id)
    texts = await stored_texts(session, clinic_id, now)
    return Readiness(rules, texts, gaps(rules, texts, business_phone=business_phone))
