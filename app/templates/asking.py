"""Texts for an appointment the patient has already confirmed: they never ask for the
confirm keyword again.

A sentence asks when it holds the keyword as a word of its own (any case, as replies are
read). Sentences end at `.`, `!` or `?` before a capital letter or the end, or at a line
break, so "3. desember" and "kl. 09:30" stay whole.
"""

import re

_SENTENCE = re.compile(r".*?(?:[.!?]+(?=\s+[A-ZÆØÅ]|\s*$)|\n|$)\s*", re.DOTALL)


def _word(keyword: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w){re.escape(keyword)}(?!\w)", re.IGNORECASE)


def without_asking(text: str, keyword: str) -> str:
    """The text less every sentence that asks for `keyword`; empty if nothing else is left."""
    word = _word(keyword)
    sentences = (part for part in _SENTENCE.findall(text) if part)
    return "".join(part for part in sentences if not word.search(part)).rstrip()
