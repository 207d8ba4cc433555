"""Phone numbers: parsing to E.164 and deciding whether a number can take an SMS."""

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from app.core.errors import InvalidInput

_TEXTABLE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
# A short number: 3-6 digits (Norway's are 4-5, the US's 5-6), or with LINK's country
# prefix ("NO-2333") up to LINK's 8. Longer bare digits are phone numbers.
SHORT_CODE = re.compile(r"[A-Za-z]{2}-(?P<prefixed>[0-9]{3,8})|(?P<bare>[0-9]{3,6})")
MAX_ADDRESS_LENGTH = 32


class NumberProblem(StrEnum):
    UNPARSABLE = "unparsable"
    INVALID = "invalid"
    NOT_MOBILE = "not_mobile"


class InvalidPhoneNumber(ValueError):
    def __init__(self, problem: NumberProblem, message: str) -> None:
        super().__init__(message)
        self.problem = problem


@dataclass(frozen=True, slots=True)
class PhoneNumber:
    e164: str
    is_mobile: bool

    @property
    def not_textable_reason(self) -> NumberProblem | None:
        return None if self.is_mobile else NumberProblem.NOT_MOBILE


def is_supported_country(country: str) -> bool:
    return country in phonenumbers.SUPPORTED_REGIONS


def parse_phone_number(raw: str, country: str) -> PhoneNumber:
    """Parse national (`912 34 567`), `+47…` or `0047…` input; raise when it is no number."""
    text = raw.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, country)
    except NumberParseException as exc:
        raise InvalidPhoneNumber(NumberProblem.UNPARSABLE, "not a phone number") from exc
    # UNKNOWN exactly when is_valid_number is false: both match the number against its
    # region's patterns, the costliest step of a batch of patients; once is enough.
    kind = phonenumbers.number_type(number)
    if kind == PhoneNumberType.UNKNOWN:
        raise InvalidPhoneNumber(NumberProblem.INVALID, "not a valid phone number")
    return PhoneNumber(
        e164=phonenumbers.format_number(number, PhoneNumberFormat.E164),
        is_mobile=kind in _TEXTABLE_TYPES,
    )


@lru_cache(maxsize=1024)
def format_for_display(e164: str, country: str) -> str:
    """National format for the clinic's own country (`22 33 44 55`), international otherwise."""
    number = phonenumbers.parse(e164)
    own_country = phonenumbers.region_code_for_number(number) == country
    return phonenumbers.format_number(
        number, PhoneNumberFormat.NATIONAL if own_country else PhoneNumberFormat.INTERNATIONAL
    )


def mask(e164: str) -> str:
    """For logs: keep the country code and the last two digits."""
    if len(e164) <= 5:
        return "*" * len(e164)
    return e164[:3] + "*" * (len(e164) - 5) + e164[-2:]


def number_filter(raw: str, country: str, *, field: str) -> str:
    """A number given to filter a list by, as E.164; a 422 naming `field` if it is none."""
    try:
        return parse_phone_number(raw, country).e164
    except InvalidPhoneNumber as exc:
        raise InvalidInput.for_field(field, str(exc), exc.problem.value) from exc


def short_code(raw: str) -> str | None:
    """The digits of a short number ("2333", "NO-2333"), or None when it is none."""
    match = SHORT_CODE.fullmatch(raw.strip())
    return (match["prefixed"] or match["bare"]) if match else None


def _as_e164(text: str, country: str) -> str | None:
    """E.164 for a number as given, or for bare digits with the `+` Sinch leaves out."""
    for candidate in (text, f"+{text}" if text.isdigit() else None):
        if candidate is None:
            continue
        try:
            return parse_phone_number(candidate, country).e164
        except InvalidPhoneNumber:
            continue
    return None


def normalize_address(raw: str, country: str) -> str | None:
    """Our address an inbound SMS came to, as we store it: a short code's digits or an
    E.164 number; None when it is neither."""
    text = raw.strip()
    return short_code(text) or _as_e164(text, country)


def normalize_sender(raw: str, country: str) -> str:
    """Who sent an inbound SMS: E.164 when it is a phone number; else as given (an
    operator's alphanumeric name), cut to the column."""
    text = raw.strip()
    return _as_e164(text, country) or text[:MAX_ADDRESS_LENGTH]
