"""Encoding, length and segmentation of SMS text per GSM 03.38."""

import re
from dataclasses import dataclass
from enum import StrEnum

GSM7_BASIC_CHARACTERS = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION_CHARACTERS = frozenset("\f^{}\\[~]|€")
GSM7_CHARACTERS = GSM7_BASIC_CHARACTERS | GSM7_EXTENSION_CHARACTERS

GSM7_SINGLE_SEGMENT_SEPTETS = 160
GSM7_MULTIPART_SEPTETS = 153
UCS2_SINGLE_SEGMENT_UNITS = 70
UCS2_MULTIPART_UNITS = 67

_LAST_BMP_CHARACTER = "\uffff"
_NOT_GSM7_BASIC = re.compile(f"[^{re.escape(''.join(sorted(GSM7_BASIC_CHARACTERS)))}]")
_NOT_GSM7 = re.compile(f"[^{re.escape(''.join(sorted(GSM7_CHARACTERS)))}]")
_EXTENSION_CHARACTERS_IN_ORDER = tuple(sorted(GSM7_EXTENSION_CHARACTERS))


class Encoding(StrEnum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


@dataclass(frozen=True, slots=True)
class TextAnalysis:
    encoding: Encoding
    length: int
    """Septets for GSM-7 (extension characters count 2), UTF-16 code units for UCS-2."""
    segments: int
    parts: tuple[str, ...]
    """The text split as it will be sent; `"".join(parts) == text`."""
    ucs2_characters: tuple[str, ...]
    """Distinct characters outside GSM-7 that force UCS-2, in order of first appearance."""
    non_bmp_characters: tuple[str, ...]
    """Distinct characters outside the BMP (most emoji), in order of first appearance."""
    first_ucs2_position: int | None


_GSM7 = Encoding.GSM7
_UCS2 = Encoding.UCS2
_EMPTY_ANALYSIS = TextAnalysis(_GSM7, 0, 0, (), (), (), None)


def septet_length(char: str) -> int | None:
    """Septets one character takes in GSM-7: 1, 2 (escape + code), or None if it has none."""
    if char in GSM7_BASIC_CHARACTERS:
        return 1
    if char in GSM7_EXTENSION_CHARACTERS:
        return 2
    return None


def analyze(text: str) -> TextAnalysis:
    if not text:
        return _EMPTY_ANALYSIS
    first_not_basic = _NOT_GSM7_BASIC.search(text)
    if first_not_basic is None:
        length = len(text)
        parts = _split(text, length, [], GSM7_SINGLE_SEGMENT_SEPTETS, GSM7_MULTIPART_SEPTETS)
        return TextAnalysis(_GSM7, length, len(parts), parts, (), (), None)

    first_ucs2 = _NOT_GSM7.search(text, first_not_basic.start())
    if first_ucs2 is None:
        escapes = _positions(text, _EXTENSION_CHARACTERS_IN_ORDER, first_not_basic.start())
        length = len(text) + len(escapes)
        parts = _split(text, length, escapes, GSM7_SINGLE_SEGMENT_SEPTETS, GSM7_MULTIPART_SEPTETS)
        return TextAnalysis(_GSM7, length, len(parts), parts, (), (), None)

    first_ucs2_position = first_ucs2.start()
    ucs2_characters = tuple(dict.fromkeys(_NOT_GSM7.findall(text, first_ucs2_position)))
    non_bmp_characters = tuple([char for char in ucs2_characters if char > _LAST_BMP_CHARACTER])
    surrogate_pairs = _positions(text, non_bmp_characters, first_ucs2_position)
    length = len(text) + len(surrogate_pairs)
    parts = _split(text, length, surrogate_pairs, UCS2_SINGLE_SEGMENT_UNITS, UCS2_MULTIPART_UNITS)
    return TextAnalysis(
        _UCS2,
        length,
        len(parts),
        parts,
        ucs2_characters,
        non_bmp_characters,
        first_ucs2_position,
    )


def _positions(text: str, chars: tuple[str, ...], start: int) -> list[int]:
    positions = []
    for char in chars:
        position = text.find(char, start)
        while position >= 0:
            positions.append(position)
            position = text.find(char, position + 1)
    positions.sort()
    return positions


def _split(
    text: str,
    length: int,
    double_width_positions: list[int],
    single_limit: int,
    part_limit: int,
) -> tuple[str, ...]:
    """Split greedily; a character at one of `double_width_positions` takes 2 and stays whole."""
    if length <= single_limit:
        return (text,)
    if not double_width_positions:
        return tuple([text[start : start + part_limit] for start in range(0, length, part_limit)])
    parts = []
    pending = 0
    pending_count = len(double_width_positions)
    start = 0
    while start < len(text):
        end = start + part_limit
        while pending < pending_count:
            position = double_width_positions[pending]
            if position >= end - 1:
                if position == end - 1:
                    end = position
                break
            pending += 1
            end -= 1
        parts.append(text[start:end])
        start = end
    return tuple(parts)
