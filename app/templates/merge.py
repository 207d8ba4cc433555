"""Merge fields in SMS templates: parsing, validation and rendering.

A merge field is a known field name in square brackets, e.g. ``[Fornavn]``. Square
brackets are reserved for merge fields; there is no escape for a literal ``[`` or ``]``.
Field names are case-sensitive and must match one of :data:`KNOWN_FIELDS` exactly.

Positions reported in errors and in :class:`ParsedTemplate` parts are 0-based indexes
into the template text as a Python ``str`` (code points, not UTF-16 units or bytes).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from babel import Locale

__all__ = [
    "KNOWN_FIELDS",
    "LONG_SAMPLE_VALUES",
    "SAMPLE_VALUES",
    "ErrorCode",
    "FieldPart",
    "ParsedTemplate",
    "TemplatePart",
    "TemplateSyntaxError",
    "TextPart",
    "format_appointment_time",
    "format_appointment_times",
    "join_words",
    "parse",
    "render",
]

KNOWN_FIELDS: tuple[str, ...] = (
    "Fornavn",
    "Etternavn",
    "Tidspunkt",
    "Behandler",
    "Businessphone",
    "URL",
    "URL1",
    "URL2",
    "Mottaker",
    "du",
    "Bekreft",
    "Avbestill",
    "Stopp",
)
"""`[Fornavn]` and `[Etternavn]` are the patient's names and `[Mottaker]` the name of whoever
gets the SMS (the patient's first name, or a guardian's name). `[du]` reads right to both:
"du" to the patient, the patient's first name to a guardian. `[Bekreft]`, `[Avbestill]` and
`[Stopp]` are the reply keywords the clinic has set (JA, NEI, STOPP by default)."""

ErrorCode = Literal["unknown_field", "malformed_bracket", "missing_value"]

_KNOWN_LIST = ", ".join(f"[{name}]" for name in KNOWN_FIELDS)
_KNOWN_BY_CASEFOLD = {name.casefold(): name for name in KNOWN_FIELDS}


class TemplateSyntaxError(ValueError):
    """A template problem found while parsing or rendering.

    Attributes:
        code: ``"unknown_field"``, ``"malformed_bracket"`` or ``"missing_value"``.
        field: the field name involved (as written in the template), or ``None`` for
            malformed brackets.
        position: 0-based index in the template text of the offending ``[`` or ``]``
            (for fields: the field's opening ``[``).
        suggestion: for ``unknown_field``, the known field that was probably meant.
        message: a human-readable English description (also ``str(exc)``).
    """

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        position: int,
        field: str | None = None,
        suggestion: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message
        self.position = position
        self.field = field
        self.suggestion = suggestion

    def __reduce__(self) -> tuple[object, ...]:
        # Keep the exception picklable (e.g. when it crosses a worker process boundary).
        return (
            _rebuild_error,
            (self.code, self.message, self.position, self.field, self.suggestion),
        )

    def __repr__(self) -> str:
        return (
            f"TemplateSyntaxError(code={self.code!r}, field={self.field!r}, "
            f"position={self.position!r}, message={self.message!r})"
        )


def _rebuild_error(
    code: ErrorCode,
    message: str,
    position: int,
    field: str | None,
    suggestion: str | None,
) -> TemplateSyntaxError:
    return TemplateSyntaxError(code, message, position=position, field=field, suggestion=suggestion)


@dataclass(frozen=True, slots=True)
class TextPart:
    """Literal text; ``position`` is the index of its first character."""

    text: str
    position: int


@dataclass(frozen=True, slots=True)
class FieldPart:
    """A merge field; ``position`` is the index of its opening ``[``."""

    name: str
    position: int


TemplatePart = TextPart | FieldPart


@dataclass(frozen=True, slots=True)
class ParsedTemplate:
    """A template split into literal text and (known) merge fields, in order."""

    text: str
    parts: tuple[TemplatePart, ...]

    @property
    def fields(self) -> frozenset[str]:
        """The names of the merge fields used in the template."""
        return frozenset(part.name for part in self.parts if isinstance(part, FieldPart))

    def first_position(self, name: str) -> int | None:
        """Position of the first ``[name]`` in the template, or ``None`` if unused."""
        for part in self.parts:
            if isinstance(part, FieldPart) and part.name == name:
                return part.position
        return None

    def render(self, values: Mapping[str, str | None]) -> str:
        """Replace every field with its value; see :func:`render`."""
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, TextPart):
                out.append(part.text)
                continue
            value = values.get(part.name)
            if value is None or not value.strip():
                # Parts are in text order, so this is the field's first occurrence.
                raise TemplateSyntaxError(
                    "missing_value",
                    f"No value for merge field [{part.name}] (first used at position "
                    f"{part.position}).",
                    position=part.position,
                    field=part.name,
                )
            out.append(value)
        return "".join(out)


def _suggest(name: str) -> str | None:
    key = name.strip().casefold()
    exact = _KNOWN_BY_CASEFOLD.get(key)
    if exact is not None:
        return exact
    close = difflib.get_close_matches(key, list(_KNOWN_BY_CASEFOLD), n=1, cutoff=0.75)
    return _KNOWN_BY_CASEFOLD[close[0]] if close else None


def _unknown_field(name: str, position: int) -> TemplateSyntaxError:
    suggestion = _suggest(name)
    hint = f" Did you mean [{suggestion}]?" if suggestion else ""
    return TemplateSyntaxError(
        "unknown_field",
        f"Unknown merge field [{name}] at position {position}.{hint} Field names are "
        f"case-sensitive. Known fields: {_KNOWN_LIST}.",
        position=position,
        field=name,
        suggestion=suggestion,
    )


def _malformed(message: str, position: int) -> TemplateSyntaxError:
    return TemplateSyntaxError("malformed_bracket", message, position=position)


def parse(text: str) -> ParsedTemplate:
    """Split ``text`` into literal text and merge fields.

    Raises :class:`TemplateSyntaxError` for the first problem found (scanning left to
    right): ``malformed_bracket`` for an unclosed ``[``, a ``]`` without an opening
    ``[``, a ``[`` inside a field (nesting) or an empty ``[]``; ``unknown_field`` for a
    bracketed name that is not in :data:`KNOWN_FIELDS`.
    """
    parts: list[TemplatePart] = []
    literal_start = 0
    i = 0
    n = len(text)
    while i < n:
        char = text[i]
        if char == "]":
            raise _malformed(
                f"Unexpected ']' at position {i} without a matching '['. Square brackets "
                "are only used for merge fields such as [Fornavn].",
                i,
            )
        if char != "[":
            i += 1
            continue
        # text[i] opens a field: find the next bracket of either kind.
        j = i + 1
        while j < n and text[j] not in "[]":
            j += 1
        if j == n:
            raise _malformed(f"Unclosed '[' at position {i}: merge fields must end with ']'.", i)
        if text[j] == "[":
            raise _malformed(
                f"Unexpected '[' at position {j} inside the merge field opened at "
                f"position {i}. Merge fields cannot be nested; close the field with ']' "
                "first.",
                j,
            )
        name = text[i + 1 : j]
        if not name:
            raise _malformed(
                f"Empty merge field '[]' at position {i}. Known fields: {_KNOWN_LIST}.", i
            )
        if name not in KNOWN_FIELDS:
            raise _unknown_field(name, i)
        if literal_start < i:
            parts.append(TextPart(text[literal_start:i], literal_start))
        parts.append(FieldPart(name, i))
        i = literal_start = j + 1
    if literal_start < n:
        parts.append(TextPart(text[literal_start:], literal_start))
    return ParsedTemplate(text=text, parts=tuple(parts))


def render(text: str, values: Mapping[str, str | None]) -> str:
    """Parse ``text`` and replace each merge field with ``values[name]``.

    Values are inserted verbatim; brackets inside values are not interpreted. A field
    used by the template whose value is missing, ``None``, empty or only whitespace
    raises :class:`TemplateSyntaxError` with code ``missing_value`` at the field's first
    position. Values for fields the template does not use are ignored.
    """
    return parse(text).render(values)


@lru_cache(maxsize=1)
def _names() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Bokmål weekday (Monday first) and month names from CLDR via Babel: looked up once,
    not for every text (a batch of appointments makes thousands)."""
    locale = Locale.parse("nb")
    weekdays = tuple(locale.days["format"]["wide"][day] for day in range(7))
    months = tuple(locale.months["format"]["wide"][month] for month in range(1, 13))
    return weekdays, months


def format_appointment_time(start: datetime, tz: ZoneInfo) -> str:
    """The appointment time in ``tz`` in Norwegian bokmål words.

    Example: 2024-12-03 14:30 Europe/Oslo -> ``"tirsdag 3. desember kl. 14:30"``.
    Weekday and month names come from CLDR via Babel. ``start`` must be timezone-aware
    (any zone; it is converted to ``tz``).
    """
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError("format_appointment_time() needs a timezone-aware datetime")
    local = start.astimezone(tz)
    weekdays, months = _names()
    return f"{weekdays[local.weekday()]} {local.day}. {months[local.month - 1]} kl. {local:%H:%M}"


def join_words(words: Sequence[str]) -> str:
    """Norwegian listing: "a", "a og b", "a, b og c"."""
    if len(words) < 2:
        return "".join(words)
    return f"{', '.join(words[:-1])} og {words[-1]}"


def format_appointment_times(starts: Sequence[tuple[datetime, str | None]], tz: ZoneInfo) -> str:
    """Several times on one local day, each with an optional label (whose time it is):
    ``"tirsdag 3. desember kl. 09:00 og kl. 14:30"``, or with labels
    ``"tirsdag 3. desember kl. 09:00 (Ola) og kl. 14:30 (Kari)"``."""
    ordered = sorted(starts, key=lambda item: item[0])
    first = format_appointment_time(ordered[0][0], tz)
    day, _, _ = first.rpartition(" kl. ")
    times = [
        f"kl. {start.astimezone(tz):%H:%M}" + (f" ({label})" if label else "")
        for start, label in ordered
    ]
    return f"{day} {join_words(times)}"


_OSLO = ZoneInfo("Europe/Oslo")

#: Realistic values for previews of a template.
SAMPLE_VALUES: Mapping[str, str] = {
    "Fornavn": "Kari",
    "Etternavn": "Nordmann",
    "Tidspunkt": format_appointment_time(datetime(2025, 3, 12, 9, 30, tzinfo=_OSLO), _OSLO),
    "Behandler": "Tannlege Hansen",
    "Businessphone": "22 33 44 55",
    "URL": "https://eksempel.no/b/abc123",
    "URL1": "https://eksempel.no/b/abc123",
    "URL2": "https://eksempel.no/b/def456",
    "Mottaker": "Kari",
    "du": "du",
    "Bekreft": "JA",
    "Avbestill": "NEI",
    "Stopp": "STOPP",
}

#: Long but realistic values, for warning that a template may exceed a segment cap.
#: Tidspunkt is the longest possible wording: a 7-letter weekday (tirsdag/torsdag), a
#: two-digit day and the longest month name (september).
LONG_SAMPLE_VALUES: Mapping[str, str] = {
    "Fornavn": "Anne-Marie Kristine",
    "Etternavn": "Kristoffersen-Haugland",
    "Tidspunkt": format_appointment_time(datetime(2025, 9, 30, 14, 30, tzinfo=_OSLO), _OSLO),
    "Behandler": "Tannpleier Marianne Andreassen-Solberg",
    "Businessphone": "+47 22 33 44 55",
    "URL": "https://booking.eksempel.no/b/Xk9Qz7Lm2Pw",
    "URL1": "https://booking.eksempel.no/b/Xk9Qz7Lm2Pw",
    "URL2": "https://booking.eksempel.no/p/Rt4Vn8Hs3Jd",
    # A guardian's copy: their own full name, and the child's first name for [du].
    "Mottaker": "Kristine Marie Kristoffersen-Haugland",
    "du": "Anne-Marie Kristine",
    "Bekreft": "BEKREFTER",
    "Avbestill": "AVBESTILLER",
    "Stopp": "STOPP",
}
