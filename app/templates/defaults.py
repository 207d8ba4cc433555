"""Template types and our default Norwegian (bokmål) texts.

Every default uses only GSM-7 characters and fits in one SMS (160 septets) when
rendered with :data:`app.templates.merge.SAMPLE_VALUES`. URLs are never followed
directly by punctuation, so phones do not pull a trailing "." into the link.
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


_REPLY = "Svar JA for å bekrefte eller NEI om du ikke kan komme."
_OPT_OUT = "Svar STOPP for å reservere deg mot slike meldinger."

DEFAULT_TEMPLATES: Mapping[TemplateType, TemplateDefault] = MappingProxyType(
    {
        TemplateType.GENERAL: TemplateDefault(
            "Hei [Fornavn]!",
            allow_reply=False,
        ),
        TemplateType.REMINDER_1: TemplateDefault(
            f"Hei [Fornavn]! Du har time hos [Behandler] [Tidspunkt]. {_REPLY}",
            allow_reply=True,
        ),
        TemplateType.REMINDER_2: TemplateDefault(
            f"Hei [Fornavn]! Påminnelse om timen din hos [Behandler] [Tidspunkt]. {_REPLY}",
            allow_reply=True,
        ),
        TemplateType.REMINDER_3: TemplateDefault(
            f"Hei [Fornavn]! Husk timen din hos [Behandler] [Tidspunkt]. {_REPLY}",
            allow_reply=True,
        ),
        TemplateType.THANK_YOU: TemplateDefault(
            "Hei [Fornavn]! Takk for besøket hos oss i dag. "
            "Ring oss på [Businessphone] om du har spørsmål.",
            allow_reply=False,
        ),
        TemplateType.NOTICE: TemplateDefault(
            "Hei [Fornavn]! Beskjed fra tannklinikken: "
            "Vi ber deg ta kontakt med oss på [Businessphone].",
            allow_reply=False,
        ),
        TemplateType.RECALL: TemplateDefault(
            "Hei [Fornavn]! Det er på tide med din årlige tannkontroll. "
            "Ring oss på [Businessphone] eller bestill time på [URL]",
            allow_reply=False,
        ),
        TemplateType.BOOKING_CONFIRMATION: TemplateDefault(
            f"Hei [Fornavn]! Du har fått ny time hos [Behandler] [Tidspunkt]. {_REPLY}",
            allow_reply=True,
        ),
        TemplateType.CANCELLATION_CONFIRMATION: TemplateDefault(
            "Hei [Fornavn]! Timen din [Tidspunkt] er avbestilt. "
            "Ring oss på [Businessphone] for å få ny time.",
            allow_reply=False,
        ),
        TemplateType.MARKETING: TemplateDefault(
            f"Hei [Fornavn]! Nyheter og gode tilbud fra tannklinikken: [URL]\n{_OPT_OUT}",
            allow_reply=True,  # from the reply number, where STOPP can be answered
        ),
        TemplateType.OFFER: TemplateDefault(
            f"Hei [Fornavn]! Vi har et eget tilbud til deg som pasient: [URL]\n{_OPT_OUT}",
            allow_reply=True,  # from the reply number, where STOPP can be answered
        ),
        TemplateType.MOBILE_PAYMENT: TemplateDefault(
            "Hei [Fornavn]! Du kan betale for behandlingen din her: [URL]",
            allow_reply=False,
        ),
    }
)
