"""Render and analyse 100,000 SMS texts of mixed kinds with the pure functions (no DB).

Run: `.venv/bin/python bench/bench_text.py [count]`. Prints texts per second and the mix.
Timed: `render()` (parse + merge) and `analyze()` per text; then the same with each
template parsed once (as a bulk send can). Merge values, including the
Norwegian appointment times, are made beforehand; their cost is measured separately.
"""

import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.sms.text import analyze
from app.templates.defaults import DEFAULT_TEMPLATES
from app.templates.merge import (
    LONG_SAMPLE_VALUES,
    ParsedTemplate,
    format_appointment_time,
    parse,
    render,
)

COUNT = 100_000
OSLO = ZoneInfo("Europe/Oslo")

FIRST_NAMES = ["Kari", "Ola", "Åse", "Øyvind", "Ærle", "Ingrid", "Per", "Sofie", "Jonas", "Nora"]
LAST_NAMES = ["Nordmann", "Hansen", "Johansen", "Olsen", "Larsen", "Berg", "Dahl", "Haugen"]
LONG_FIRST_NAMES = ["Anne-Marie Kristine", "Karl-Johan Fredrik", "Marie Elisabeth Sofie"]
LONG_LAST_NAMES = ["Kristoffersen-Haugland", "Aleksandersen Bjørnstad", "Fredriksen-Nygård"]
UCS2_FIRST_NAMES = ["Zoë", "Łukasz", "Şule", "Nguyễn", "Đorđe", "Małgorzata", "Chloë", "Tomáš"]
UCS2_LAST_NAMES = ["Kowalczyk", "Dvořák", "Yılmaz", "Trần", "Petrović", "Brontë"]
PRACTITIONERS = ["Tannlege Hansen", "Tannpleier Berg", "Tannlege Dahl", "Tannlege Strand"]
LONG_PRACTITIONERS = ["Tannpleier Marianne Andreassen-Solberg", "Tannlege Dr. Jens Fjellheim"]

EMOJI_TEMPLATE = "Hei [Fornavn] 😀 Vi gleder oss til å se deg [Tidspunkt] hos [Behandler] 🦷"
LONG_GSM_TEMPLATE = (
    "Hei [Fornavn] [Etternavn]! Du har time hos [Behandler] [Tidspunkt]. "
    "Husk å ta med frikort og en oversikt over medisiner du bruker. Kom gjerne 10 minutter "
    "før timen. Parkering koster 50 kr {betales i automaten}. Avbestilling senere enn 24 "
    "timer før timen faktureres med 650€ / 650 kr. Spørsmål? Ring [Businessphone]. "
    "Les mer om hva du kan forvente på [URL1] og fyll ut egenerklæringen på [URL2] "
    "før du kommer. Svar JA for å bekrefte eller NEI om du ikke kan komme."
)
LONG_UCS2_TEMPLATE = (
    "Hei [Fornavn]! Velkommen til oss – vi ses [Tidspunkt] hos [Behandler]. "
    "«Ta med» frikort, og husk: ingen mat to timer før behandlingen. "
    "Ring [Businessphone] om noe er uklart, eller les mer på [URL]"
)


def _appointment_times(rng: random.Random, count: int) -> list[str]:
    start = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)
    return [
        format_appointment_time(start + timedelta(minutes=15 * rng.randrange(35_000)), OSLO)
        for _ in range(count)
    ]


def _values(
    rng: random.Random,
    times: list[str],
    first: list[str],
    last: list[str],
    practitioners: list[str],
) -> dict[str, str]:
    token = "".join(rng.choices("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789", k=11))
    return {
        "Fornavn": rng.choice(first),
        "Etternavn": rng.choice(last),
        "Tidspunkt": rng.choice(times),
        "Behandler": rng.choice(practitioners),
        "Businessphone": "22 33 44 55",
        "URL": f"https://booking.eksempel.no/b/{token}",
        "URL1": f"https://booking.eksempel.no/i/{token}",
        "URL2": f"https://booking.eksempel.no/s/{token}",
    }


Job = tuple[str, str, Mapping[str, str]]  # (kind, template text, values)


def make_jobs(count: int, seed: int = 20261128) -> list[Job]:
    rng = random.Random(seed)
    times = _appointment_times(rng, 500)
    defaults = [default.text for default in DEFAULT_TEMPLATES.values()]
    makers: list[tuple[str, int, Callable[[], tuple[str, Mapping[str, str]]]]] = [
        (
            "default template, Norwegian name",
            40,
            lambda: (
                rng.choice(defaults),
                _values(rng, times, FIRST_NAMES, LAST_NAMES, PRACTITIONERS),
            ),
        ),
        (
            "default template, long names",
            15,
            lambda: (
                rng.choice(defaults),
                _values(rng, times, LONG_FIRST_NAMES, LONG_LAST_NAMES, LONG_PRACTITIONERS),
            ),
        ),
        (
            "default template, UCS-2 name",
            15,
            lambda: (
                rng.choice(defaults),
                _values(rng, times, UCS2_FIRST_NAMES, UCS2_LAST_NAMES, PRACTITIONERS),
            ),
        ),
        (
            "emoji text",
            10,
            lambda: (EMOJI_TEMPLATE, _values(rng, times, FIRST_NAMES, LAST_NAMES, PRACTITIONERS)),
        ),
        (
            "long multi-part GSM-7 text",
            10,
            lambda: (
                LONG_GSM_TEMPLATE,
                _values(rng, times, LONG_FIRST_NAMES, LONG_LAST_NAMES, PRACTITIONERS),
            ),
        ),
        (
            "long multi-part UCS-2 text",
            10,
            lambda: (
                LONG_UCS2_TEMPLATE * 2,
                _values(rng, times, UCS2_FIRST_NAMES, UCS2_LAST_NAMES, LONG_PRACTITIONERS),
            ),
        ),
    ]
    weights = [weight for _, weight, _ in makers]
    jobs: list[Job] = []
    for kind, _, make in rng.choices(makers, weights=weights, k=count):
        text, values = make()
        jobs.append((kind, text, values))
    return jobs


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else COUNT
    out = sys.stdout.write
    jobs = make_jobs(count)

    started = time.perf_counter()
    results = [analyze(render(text, values)) for _, text, values in jobs]
    elapsed = time.perf_counter() - started

    kinds = Counter(kind for kind, _, _ in jobs)
    encodings = Counter(str(result.encoding) for result in results)
    segments = Counter(result.segments for result in results)
    out(f"render + analyze: {count:,} texts in {elapsed:.3f} s = {count / elapsed:,.0f} texts/s\n")
    out(f"  ({elapsed / count * 1e6:.1f} µs per text, one CPU core, no database)\n\n")
    out("mix:\n")
    for kind, n in kinds.most_common():
        out(f"  {n:7,}  {kind}\n")
    out("encodings: " + ", ".join(f"{e} {n:,}" for e, n in sorted(encodings.items())) + "\n")
    out("segments:  " + ", ".join(f"{s}: {n:,}" for s, n in sorted(segments.items())) + "\n")
    total = sum(result.segments for result in results)
    out(f"total segments: {total:,} (mean {total / count:.2f} per text)\n\n")

    # A bulk send renders one template many times: parse it once, render each recipient.
    parsed: dict[str, ParsedTemplate] = {}
    started = time.perf_counter()
    for _, text, values in jobs:
        template = parsed.get(text)
        if template is None:
            template = parsed[text] = parse(text)
        analyze(template.render(values))
    elapsed = time.perf_counter() - started
    out(f"same, each template parsed once: {count / elapsed:,.0f} texts/s\n\n")

    sample = 10_000
    moments = [
        datetime(2026, 1, 5, 7, 0, tzinfo=UTC) + timedelta(minutes=15 * i) for i in range(sample)
    ]
    started = time.perf_counter()
    for moment in moments:
        format_appointment_time(moment, OSLO)
    elapsed = time.perf_counter() - started
    out(f"format_appointment_time ([Tidspunkt], Babel): {sample / elapsed:,.0f} calls/s\n")

    long_text = render(LONG_GSM_TEMPLATE, LONG_SAMPLE_VALUES)
    started = time.perf_counter()
    for _ in range(sample):
        analyze(long_text)
    elapsed = time.perf_counter() - started
    out(f"analyze() alone, {len(long_text)}-character GSM-7 text: {sample / elapsed:,.0f}/s\n")


if __name__ == "__main__":
    main()
