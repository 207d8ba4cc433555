"""Reply keywords: the first word of a reply, trimmed and case-insensitive."""

import re
from enum import StrEnum

MAX_KEYWORD_LENGTH = 20
OPT_OUT_WORDS = frozenset({"STOPP", "STOP"})
DEFAULT_KEYWORDS = ("JA", "NEI")
"""The confirm and cancel words a clinic has until it sets its own."""
OPT_OUT_WORD = "STOPP"
"""The opt-out word our texts name (`[Stopp]`); STOP works as well."""
OPT_IN_WORDS = frozenset({"START"})
RESERVED_WORDS = OPT_OUT_WORDS | OPT_IN_WORDS

_KEYWORD = re.compile(rf"[^\W\d_]{{1,{MAX_KEYWORD_LENGTH}}}")
# Punctuation around the word ("Ja!", "«nei»") is not part of it.
_EDGE_PUNCTUATION = re.compile(r"^[\W_]+|[\W_]+$")


class Keyword(StrEnum):
    STOP = "stop"
    START = "start"
    CONFIRM = "confirm"
    CANCEL = "cancel"


def is_keyword_word(word: str) -> bool:
    """One word of letters (any alphabet, so ÆØÅ too), as a clinic may configure it."""
    return _KEYWORD.fullmatch(word) is not None


def first_word(text: str) -> str:
    words = text.split(maxsplit=1)
    return _EDGE_PUNCTUATION.sub("", words[0]).upper() if words else ""


def without_routing_keyword(text: str, routing_keyword: str) -> str:
    """The reply without the keyword a short number routed it by ("TANN ja" → "ja")."""
    words = text.split(maxsplit=1)
    if len(words) < 2 or first_word(text) != routing_keyword.strip().upper():
        return text
    return words[1]


def keyword_of(
    text: str,
    *,
    confirm_word: str,
    cancel_word: str,
    answers_appointment: bool,
    routing_keyword: str | None = None,
) -> Keyword | None:
    """STOPP/STOP and START always count; the confirm and cancel words only in a reply to a
    reminder or booking confirmation, where there is an appointment to confirm.

    A reply routed to a short number by keyword (LINK) starts with that keyword, which is
    read past; unless it is one of these words itself (a route by JA or STOPP)."""
    meaningful = RESERVED_WORDS | {confirm_word.upper(), cancel_word.upper()}
    if routing_keyword and routing_keyword.strip().upper() not in meaningful:
        text = without_routing_keyword(text, routing_keyword)
    word = first_word(text)
    if word in OPT_OUT_WORDS:
        return Keyword.STOP
    if word in OPT_IN_WORDS:
        return Keyword.START
    if not answers_appointment:
        return None
    if word == confirm_word.upper():
        return Keyword.CONFIRM
    if word == cancel_word.upper():
        return Keyword.CANCEL
    return None


def keyword_values(*, confirm_word: str, cancel_word: str) -> dict[str, str]:
    """The merge fields [Bekreft], [Avbestill] and [Stopp]: the words a clinic's texts ask
    for are the words its replies are read by."""
    return {"Bekreft": confirm_word, "Avbestill": cancel_word, "Stopp": OPT_OUT_WORD}
