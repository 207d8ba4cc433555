"""Smart encoding: look-alike characters that force UCS-2 replaced with GSM-7 ones.

One curly apostrophe or en dash makes a Norwegian text UCS-2, which holds 70 characters
per SMS instead of 160. The replacement is made only when it is what stands between the
text and GSM-7, and never when it would take more segments (each … becomes three dots).
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass

from app.sms.text import Encoding, TextAnalysis, analyze

LOOK_ALIKES: Mapping[str, str] = {
    "\u2019": "'",  # ’ right single quotation mark (the curly apostrophe)
    "\u2018": "'",  # ‘ left single quotation mark
    "\u201c": '"',  # “ left double quotation mark
    "\u201d": '"',  # ” right double quotation mark
    "\u2013": "-",  # – en dash
    "\u2014": "-",  # — em dash
    "\u2026": "...",  # … horizontal ellipsis
    "\u00a0": " ",  # no-break space
}
_LOOK_ALIKE = re.compile(f"[{''.join(LOOK_ALIKES)}]")
_REPLACEMENTS = str.maketrans(dict(LOOK_ALIKES))


@dataclass(frozen=True, slots=True)
class EncodedText:
    written: str
    written_analysis: TextAnalysis
    text: str
    """The text as it will be sent."""
    analysis: TextAnalysis
    """Of `text`."""
    replaced: tuple[str, ...]
    """Distinct look-alikes replaced, in order of first appearance; () when none were."""


def as_written(text: str) -> EncodedText:
    analysis = analyze(text)
    return EncodedText(text, analysis, text, analysis, ())


def smart_encode(text: str) -> EncodedText:
    """The text with its look-alikes replaced, when that makes it GSM-7 in no more segments;
    else the text as written."""
    unchanged = as_written(text)
    found = tuple(dict.fromkeys(_LOOK_ALIKE.findall(text)))
    if not found:
        return unchanged
    written = unchanged.written_analysis
    candidate = text.translate(_REPLACEMENTS)
    analysis = analyze(candidate)
    if analysis.encoding is not Encoding.GSM7 or analysis.segments > written.segments:
        return unchanged
    return EncodedText(text, written, candidate, analysis, found)
