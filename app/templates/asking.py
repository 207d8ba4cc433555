"""Reply keywords in texts. A text for an appointment the patient has already confirmed
never asks for the confirm keyword again; a template that spells a keyword out rather than
using its merge field does not follow the clinic's settings.

A sentence asks when it holds the keyword as a word of its own (any case, as replies are
read). Sentences end at `.`, `!` or `?` before a capital letter or the end, or at a line
break, so "3. desember" and "kl. 09:30" stay whole.
"""

import re
from collections.abc import Iterable

from app.templates.merge import ParsedTemplate, TextPart

_SENTENCE = re.compile(r".*?(?:[.!?]+(?=\s+[A-ZÆØÅ]|\s*$)|\n|$)\s*", re.DOTALL)


def _word(keyword: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w){re.escape(keyword)}(?!\w)", re.IGNORECASE)


def without_asking(text: str, keyword: str) -> str:
    """The text less every sentence that asks for `keyword`; empty if nothing else is left."""
    word = _word(keyword)
    sentences = (part for part in _SENTENCE.findall(text) if part)
    return "".join(part for part in sentences if not word.search(part)).rstrip()


def spelled_out(template: ParsedTemplate, words: Iterable[str]) -> list[str]:
    """The words (in capitals, as a keyword is written) that the template's own text has."""
    literal = " ".join(part.text for part in template.parts if isinstance(part, TextPart))
    return [word for word in words if re.search(rf"(?<!\w){re.escape(word)}(?!\w)", literal)]
