"""Template types and our default Norwegian (bokmål) texts.

Every default uses only GSM-7 characters and fits in one SMS (160 septets) when
rendered with :data:`app.templates.merge.SAMPLE_VALUES`. URLs are never followed
directly by punctuation, so phones do not pull a trailing "." into the link.

Each reads right to the patient and to a guardian (`[Mottaker]`, `[du]`), names the reply
keywords the clinic set (`[Bekreft]`, `[Avbestill]`, `[Stopp]`), and stays true whenever
the pauses let it go: no "today", no fixed recall interval.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

__all__ = ["DEFAULT_TEMPLATES", "TemplateDefault", "TemplateType"]


class TemplateType(StrEnum):
    GENERAL = "general"
    REMINDER_1 = "reminder_1"
    REMINDER_2 = "reminder_2"
    REMINDER_3 = "reminder_3"
    THANK_YOU = "thank_you"
    NOTICE = "notice"
    RECALL = "recall"
    BOOKING_CONFIRMATION = "booking_confirmation"
    CANCELLATION_CONFIRMATION = "cancellation_confirmation"
    MARKETING = "marketing"
    OFFER = "offer"
    MOBILE_PAYMENT = "mobile_payment"


@dataclass(frozen=True, slots=True)
class TemplateDefault:
    text: str
    allow_reply: bool


_REPLY = "Svar [Bekreft] for å bekrefte eller [Avbestill] om [du] ikke kan komme."
_OPT_OUT = "Svar [Stopp] for å reservere deg mot slike meldinger."

DEFAULT_TEMPLATES: Mapping[TemplateType, TemplateDefault] = MappingProxyType(
    {
        TemplateType.GENERAL: TemplateDefault(
            "Hei [Mottaker]!",
            allow_reply=False,
        ),
        TemplateType.REMINDER_1: TemplateDefault(
            f"Hei [Mottaker]! Vi minner om at [du] har time hos [Behandler] [Tidspunkt]. {_REPLY}",
            allow_reply=True,
        ),
        TemplateType.REMINDER_2: TemplateDefault(
            f"Hei [Mottaker]! Påminnelse: [du] har time hos [Behandler] [Tidspunkt]. {_REPLY}",
            allow_reply=True,
        ),
        TemplateType.REMINDER_3: TemplateDefault(
            f"Hei [Mottaker]! Husk at [du] har time hos [Behandler] [Tidspunkt]. {_REPLY}",
            allow_reply=True,
        ),
        # No "i dag": a visit ending in the evening is thanked for the next morning.
        TemplateType.THANK_YOU: TemplateDefault(
            "Hei [Mottaker]! Takk for at [du] var hos oss. "
            "Ring oss på [Businessphone] om du har spørsmål.",
            allow_reply=False,
        ),
        TemplateType.NOTICE: TemplateDefault(
            "Hei [Mottaker]! Beskjed fra tannklinikken: "
            "Vi ber deg ta kontakt med oss på [Businessphone].",
            allow_reply=False,
        ),
        # No "årlige": the recall interval is the clinic's. No [URL]: an automatic recall has
        # no caller to give one.
        TemplateType.RECALL: TemplateDefault(
            "Hei [Mottaker]! Det er på tide at [du] kommer til tannkontroll igjen. "
            "Ring oss på [Businessphone] for å bestille time.",
            allow_reply=False,
        ),
        TemplateType.BOOKING_CONFIRMATION: TemplateDefault(
            f"Hei [Mottaker]! Nå har [du] fått ny time hos [Behandler] [Tidspunkt]. {_REPLY}",
            allow_reply=True,
        ),
        TemplateType.CANCELLATION_CONFIRMATION: TemplateDefault(
            "Hei [Mottaker]! Timen [du] hadde hos [Behandler] [Tidspunkt] er avbestilt. "
            "Ring oss på [Businessphone] for å få ny time.",
            allow_reply=False,
        ),
        TemplateType.MARKETING: TemplateDefault(
            f"Hei [Mottaker]! Nyheter og gode tilbud fra tannklinikken: [URL]\n{_OPT_OUT}",
            allow_reply=True,  # from the reply number, where STOPP can be answered
        ),
        TemplateType.OFFER: TemplateDefault(
            f"Hei [Mottaker]! Vi har et eget tilbud til våre pasienter: [URL]\n{_OPT_OUT}",
            allow_reply=True,  # from the reply number, where STOPP can be answered
        ),
        TemplateType.MOBILE_PAYMENT: TemplateDefault(
            "Hei [Mottaker]! Her kan du betale for behandlingen: [URL]",
            allow_reply=False,
        ),
    }
)
