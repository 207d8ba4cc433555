"""The field types of clinic settings, each with its check: the clinic's wall-clock
times, time zone, country, sender name, reply address and reply keywords."""

import re
from datetime import time
from functools import lru_cache
from typing import Annotated
from zoneinfo import available_timezones

from pydantic import AfterValidator, BeforeValidator, WithJsonSchema

from app.core.phones import (
    InvalidPhoneNumber,
    is_supported_country,
    parse_phone_number,
    short_code,
)
from app.replies.keywords import RESERVED_WORDS, is_keyword_word

_SENDER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{1,10}")
# Pause times are the clinic's wall clock: HH:MM or HH:MM:SS, with no offset.
_LOCAL_TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"


@lru_cache
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _check_time_zone(value: str) -> str:
    if value not in _time_zones():
        raise ValueError("not an IANA time zone name, e.g. Europe/Oslo")
    return value


def _check_country(value: str) -> str:
    if not is_supported_country(value):
        raise ValueError("not an ISO 3166 two-letter country code, e.g. NO")
    return value


def _check_sender_name(value: str) -> str:
    if not _SENDER_NAME.fullmatch(value):
        raise ValueError("2-11 letters (A-Z) and digits, not starting with a digit")
    return value


def _check_e164(value: str) -> str:
    if not value.startswith("+"):
        raise ValueError("must be in E.164 form, e.g. +4790012345")
    try:
        return parse_phone_number(value, "ZZ").e164
    except InvalidPhoneNumber as exc:
        raise ValueError(str(exc)) from exc


def _check_reply_address(value: str) -> str:
    """A reply number in E.164, or a short number (LINK: "2333", also "NO-2333")."""
    digits = short_code(value)
    if digits is not None:
        return digits
    try:
        return _check_e164(value)
    except ValueError as exc:
        raise ValueError(
            "an E.164 number (e.g. +4790012345) or a short number of 3-6 digits (e.g. 2333)"
        ) from exc


def _check_reply_keyword(value: str) -> str:
    word = value.strip()
    if not is_keyword_word(word):
        raise ValueError("one word of letters, at most 20")
    if word.upper() in RESERVED_WORDS:
        raise ValueError(f"{', '.join(sorted(RESERVED_WORDS))} are reserved for opting out and in")
    return word.upper()


def _check_local_time(value: object) -> object:
    # A number would be read as seconds since midnight UTC: an offset again.
    if value is not None and not isinstance(value, str | time):
        raise ValueError("a local time HH:MM or HH:MM:SS in the clinic's time zone, no offset")
    if isinstance(value, str) and not re.fullmatch(_LOCAL_TIME_PATTERN, value):
        raise ValueError("a local time HH:MM or HH:MM:SS in the clinic's time zone, no offset")
    return value


LocalTime = Annotated[
    time,
    BeforeValidator(_check_local_time),
    # Not `format: time`: that is RFC 3339's full-time, which requires an offset.
    WithJsonSchema({"type": "string", "pattern": _LOCAL_TIME_PATTERN}),
]
TimeZoneName = Annotated[str, AfterValidator(_check_time_zone)]
CountryCode = Annotated[str, AfterValidator(_check_country)]
SenderName = Annotated[str, AfterValidator(_check_sender_name)]
ReplyAddress = Annotated[str, AfterValidator(_check_reply_address)]
ReplyKeyword = Annotated[str, AfterValidator(_check_reply_keyword)]
