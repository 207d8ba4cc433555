from __future__ import annotations

import pickle
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_datetime
from hypothesis import given
from hypothesis import strategies as st

from app.templates.merge import (
    KNOWN_FIELDS,
    LONG_SAMPLE_VALUES,
    SAMPLE_VALUES,
    FieldPart,
    TemplateSyntaxError,
    TextPart,
    format_appointment_time,
    parse,
    render,
)

OSLO = ZoneInfo("Europe/Oslo")


def parse_error(text: str) -> TemplateSyntaxError:
    with pytest.raises(TemplateSyntaxError) as info:
        parse(text)
    return info.value


def render_error(text: str, values: dict[str, str | None]) -> TemplateSyntaxError:
    with pytest.raises(TemplateSyntaxError) as info:
        render(text, values)
    return info.value


# --- parsing -------------------------------------------------------------------------


def test_known_fields() -> None:
    assert KNOWN_FIELDS == (
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


def test_parse_parts_and_positions() -> None:
    parsed = parse("Hei [Fornavn] [Etternavn], time [Tidspunkt].")
    assert parsed.parts == (
        TextPart("Hei ", 0),
        FieldPart("Fornavn", 4),
        TextPart(" ", 13),
        FieldPart("Etternavn", 14),
        TextPart(", time ", 25),
        FieldPart("Tidspunkt", 32),
        TextPart(".", 43),
    )
    assert parsed.fields == frozenset({"Fornavn", "Etternavn", "Tidspunkt"})
    assert parsed.text == "Hei [Fornavn] [Etternavn], time [Tidspunkt]."


def test_parse_repeated_and_adjacent_fields() -> None:
    parsed = parse("[URL1][URL2] [URL1]")
    assert parsed.parts == (
        FieldPart("URL1", 0),
        FieldPart("URL2", 6),
        TextPart(" ", 12),
        FieldPart("URL1", 13),
    )
    assert parsed.fields == frozenset({"URL1", "URL2"})
    assert parsed.first_position("URL1") == 0
    assert parsed.first_position("URL2") == 6
    assert parsed.first_position("Fornavn") is None


@pytest.mark.parametrize("name", KNOWN_FIELDS)
def test_every_known_field_parses(name: str) -> None:
    assert parse(f"x [{name}] y").fields == frozenset({name})


@pytest.mark.parametrize("text", ["", "Hei!", "Ingen felter her: æøå ÆØÅ 100% {ok}"])
def test_parse_plain_text(text: str) -> None:
    parsed = parse(text)
    assert parsed.fields == frozenset()
    assert parsed.parts == ((TextPart(text, 0),) if text else ())


def test_parts_reassemble_to_original_text() -> None:
    text = "Hei [Fornavn]! Time [Tidspunkt] hos [Behandler]. Ring [Businessphone]"
    parsed = parse(text)
    rebuilt = "".join(p.text if isinstance(p, TextPart) else f"[{p.name}]" for p in parsed.parts)
    assert rebuilt == text


# --- malformed brackets --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "position", "message_part"),
    [
        ("Hei [Fornavn", 4, "Unclosed '['"),
        ("[", 0, "Unclosed '['"),
        ("Hei [Fornavn] og [", 17, "Unclosed '['"),
        ("Hei Fornavn]", 11, "Unexpected ']'"),
        ("]", 0, "Unexpected ']'"),
        ("Hei [Fornavn]]", 13, "Unexpected ']'"),
        ("Hei [Forn[avn]", 9, "cannot be nested"),
        ("[[Fornavn]]", 1, "cannot be nested"),
        ("Hei [Fornavn, time [Tidspunkt]", 19, "cannot be nested"),
        ("Hei []", 4, "Empty merge field"),
        ("[][Fornavn]", 0, "Empty merge field"),
    ],
)
def test_malformed_brackets(text: str, position: int, message_part: str) -> None:
    err = parse_error(text)
    assert err.code == "malformed_bracket"
    assert err.position == position
    assert err.field is None
    assert message_part in str(err)
    assert f"position {position}" in str(err)
    assert isinstance(err, ValueError)


def test_nested_message_names_both_positions() -> None:
    err = parse_error("Hei [Fornavn, time [Tidspunkt]")
    assert "position 19" in err.message
    assert "position 4" in err.message


def test_first_error_wins() -> None:
    err = parse_error("Hei [Ukjent] og ] og [")
    assert err.code == "unknown_field"
    assert err.position == 4


# --- unknown fields ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name", "position"),
    [
        ("Hei [Navn]!", "Navn", 4),
        ("[Klinikk]", "Klinikk", 0),
        ("Ring [Telefon] i dag", "Telefon", 5),
        ("[URL3]", "URL3", 0),
    ],
)
def test_unknown_field(text: str, name: str, position: int) -> None:
    err = parse_error(text)
    assert err.code == "unknown_field"
    assert err.field == name
    assert err.position == position
    assert f"[{name}]" in err.message
    assert f"position {position}" in err.message
    assert "Known fields:" in err.message
    for known in KNOWN_FIELDS:
        assert f"[{known}]" in err.message


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("fornavn", "Fornavn"),
        ("FORNAVN", "Fornavn"),
        ("url", "URL"),
        ("Url1", "URL1"),
        ("businessPhone", "Businessphone"),
        ("BusinessPhone", "Businessphone"),
        (" Tidspunkt ", "Tidspunkt"),
        ("Fornvan", "Fornavn"),
        ("Behandlar", "Behandler"),
    ],
)
def test_unknown_field_suggests_right_spelling(written: str, meant: str) -> None:
    err = parse_error(f"Hei [{written}]")
    assert err.code == "unknown_field"
    assert err.field == written
    assert err.suggestion == meant
    assert f"Did you mean [{meant}]?" in err.message


def test_unknown_field_without_close_match_has_no_suggestion() -> None:
    err = parse_error("[Klinikknavn]")
    assert err.suggestion is None
    assert "Did you mean" not in err.message


def test_error_is_picklable() -> None:
    err = parse_error("Hei [fornavn]")
    copy = pickle.loads(pickle.dumps(err))
    assert isinstance(copy, TemplateSyntaxError)
    assert (copy.code, copy.field, copy.position, copy.suggestion, str(copy)) == (
        err.code,
        err.field,
        err.position,
        err.suggestion,
        str(err),
    )


# --- rendering -----------------------------------------------------------------------


def test_render_replaces_fields() -> None:
    text = "Hei [Fornavn] [Etternavn]! Time [Tidspunkt] hos [Behandler]."
    values = {
        "Fornavn": "Kari",
        "Etternavn": "Nordmann",
        "Tidspunkt": "tirsdag 3. desember kl. 14:30",
        "Behandler": "Tannlege Hansen",
    }
    assert render(text, values) == (
        "Hei Kari Nordmann! Time tirsdag 3. desember kl. 14:30 hos Tannlege Hansen."
    )


def test_render_repeated_field_and_extra_values() -> None:
    values = {"URL": "https://x.no/a", "Fornavn": "Ola", "Ukjent": "ignored"}
    assert render("[URL] og [URL]", values) == "https://x.no/a og https://x.no/a"


def test_render_plain_text_needs_no_values() -> None:
    assert render("Ingen felter.", {}) == "Ingen felter."


def test_render_values_are_not_reparsed() -> None:
    values = {"Fornavn": "[Etternavn]", "Etternavn": "Nordmann]["}
    assert render("[Fornavn] [Etternavn]", values) == "[Etternavn] Nordmann]["


def test_render_inserts_values_verbatim() -> None:
    assert render("Hei [Fornavn]!", {"Fornavn": " Kari  Anne "}) == "Hei  Kari  Anne !"


@pytest.mark.parametrize("missing", [None, "", "   "])
def test_render_missing_value(missing: str | None) -> None:
    text = "Hei [Fornavn], time [Tidspunkt] og [Tidspunkt]"
    err = render_error(text, {"Fornavn": "Kari", "Tidspunkt": missing})
    assert err.code == "missing_value"
    assert err.field == "Tidspunkt"
    assert err.position == 20
    assert "[Tidspunkt]" in err.message
    assert "position 20" in err.message


def test_render_missing_key_reports_first_missing_field() -> None:
    err = render_error("[URL] [Fornavn] [Behandler] [Fornavn]", {"URL": "u"})
    assert (err.code, err.field, err.position) == ("missing_value", "Fornavn", 6)


def test_render_reports_syntax_errors_before_missing_values() -> None:
    err = render_error("Hei [Fornavn] [fornavn]", {})
    assert err.code == "unknown_field"


def test_parsed_template_render() -> None:
    parsed = parse("Betal her: [URL]")
    assert parsed.render({"URL": "https://x.no/p"}) == "Betal her: https://x.no/p"


_value = st.text(min_size=1).filter(lambda s: s.strip() != "")


@given(st.dictionaries(st.sampled_from(KNOWN_FIELDS), _value, min_size=len(KNOWN_FIELDS)))
def test_render_roundtrip_property(values: dict[str, str]) -> None:
    text = " | ".join(f"<[{name}]>" for name in KNOWN_FIELDS)
    expected = " | ".join(f"<{values[name]}>" for name in KNOWN_FIELDS)
    assert render(text, values) == expected


@given(st.text(alphabet=st.sampled_from(list("[]abFornavURL1 "))))
def test_parse_only_raises_template_errors(text: str) -> None:
    error: TemplateSyntaxError | None = None
    try:
        parsed = parse(text)
    except TemplateSyntaxError as exc:
        error = exc
    if error is not None:
        assert error.code in ("malformed_bracket", "unknown_field")
        assert 0 <= error.position < len(text)
        assert text[error.position] in "[]"
    else:
        assert parsed.fields <= set(KNOWN_FIELDS)
        rebuilt = "".join(
            p.text if isinstance(p, TextPart) else f"[{p.name}]" for p in parsed.parts
        )
        assert rebuilt == text


# --- appointment time ----------------------------------------------------------------


def test_format_example_from_spec() -> None:
    start = datetime(2024, 12, 3, 14, 30, tzinfo=OSLO)
    assert format_appointment_time(start, OSLO) == "tirsdag 3. desember kl. 14:30"


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2024, 1, 3), "onsdag 3. januar kl. 14:30"),
        (date(2024, 2, 3), "lørdag 3. februar kl. 14:30"),
        (date(2024, 3, 3), "søndag 3. mars kl. 14:30"),
        (date(2024, 4, 3), "onsdag 3. april kl. 14:30"),
        (date(2024, 5, 3), "fredag 3. mai kl. 14:30"),
        (date(2024, 6, 3), "mandag 3. juni kl. 14:30"),
        (date(2024, 7, 4), "torsdag 4. juli kl. 14:30"),
        (date(2024, 8, 3), "lørdag 3. august kl. 14:30"),
        (date(2024, 9, 3), "tirsdag 3. september kl. 14:30"),
        (date(2024, 10, 3), "torsdag 3. oktober kl. 14:30"),
        (date(2024, 11, 3), "søndag 3. november kl. 14:30"),
        (date(2024, 12, 3), "tirsdag 3. desember kl. 14:30"),
    ],
)
def test_format_every_month(day: date, expected: str) -> None:
    start = datetime(day.year, day.month, day.day, 14, 30, tzinfo=OSLO)
    assert format_appointment_time(start, OSLO) == expected


def test_format_weekday_names() -> None:
    monday = datetime(2024, 1, 1, 9, 5, tzinfo=OSLO)
    weekdays = [
        format_appointment_time(monday + timedelta(days=i), OSLO).split()[0] for i in range(7)
    ]
    assert weekdays == ["mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag"]


def test_format_reads_as_babel_formats_it_every_day_of_a_year() -> None:
    start = datetime(2026, 1, 1, 0, 5, tzinfo=UTC)
    for hour in range(0, 366 * 24, 7):
        moment = start + timedelta(hours=hour)
        babel = format_datetime(moment, "EEEE d. MMMM 'kl.' HH:mm", tzinfo=OSLO, locale="nb")
        assert format_appointment_time(moment, OSLO) == babel.replace("\u00a0", " ")


def test_format_pads_hours_and_minutes() -> None:
    start = datetime(2025, 1, 31, 8, 5, tzinfo=OSLO)
    assert format_appointment_time(start, OSLO) == "fredag 31. januar kl. 08:05"


@pytest.mark.parametrize(
    ("utc_start", "expected"),
    [
        # Summer time (CEST, UTC+2).
        (datetime(2026, 7, 1, 12, 30, tzinfo=UTC), "onsdag 1. juli kl. 14:30"),
        # Winter time (CET, UTC+1).
        (datetime(2026, 1, 15, 12, 30, tzinfo=UTC), "torsdag 15. januar kl. 13:30"),
        # Crosses midnight into the next local day.
        (datetime(2025, 12, 31, 23, 30, tzinfo=UTC), "torsdag 1. januar kl. 00:30"),
        # Either side of the spring-forward switch on 2026-03-29 01:00 UTC.
        (datetime(2026, 3, 29, 0, 30, tzinfo=UTC), "søndag 29. mars kl. 01:30"),
        (datetime(2026, 3, 29, 1, 30, tzinfo=UTC), "søndag 29. mars kl. 03:30"),
    ],
)
def test_format_converts_to_clinic_zone(utc_start: datetime, expected: str) -> None:
    assert format_appointment_time(utc_start, OSLO) == expected


def test_format_accepts_other_offsets() -> None:
    start = datetime(2024, 12, 3, 8, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert format_appointment_time(start, OSLO) == "tirsdag 3. desember kl. 14:30"


def test_format_other_clinic_zone() -> None:
    start = datetime(2026, 7, 1, 12, 30, tzinfo=UTC)
    assert format_appointment_time(start, ZoneInfo("UTC")) == "onsdag 1. juli kl. 12:30"


def test_format_requires_aware_datetime() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        format_appointment_time(datetime(2024, 12, 3, 14, 30), OSLO)


# --- sample values -------------------------------------------------------------------


@pytest.mark.parametrize("values", [SAMPLE_VALUES, LONG_SAMPLE_VALUES])
def test_sample_values_cover_all_fields(values: Mapping[str, str]) -> None:
    assert set(values) == set(KNOWN_FIELDS)
    for name, value in values.items():
        assert value.strip(), name
        assert "[" not in value
        assert "]" not in value


def test_sample_values_are_realistic() -> None:
    assert SAMPLE_VALUES["Fornavn"] == "Kari"
    assert SAMPLE_VALUES["Tidspunkt"] == "onsdag 12. mars kl. 09:30"
    for key in ("URL", "URL1", "URL2"):
        assert SAMPLE_VALUES[key].startswith("https://")


def test_long_sample_values_are_at_least_as_long() -> None:
    for name in KNOWN_FIELDS:
        assert len(LONG_SAMPLE_VALUES[name]) >= len(SAMPLE_VALUES[name]), name
    for key in ("URL", "URL1", "URL2"):
        assert 38 <= len(LONG_SAMPLE_VALUES[key]) <= 45


def test_long_tidspunkt_is_the_longest_possible() -> None:
    day = datetime(2026, 1, 1, 14, 30, tzinfo=OSLO)
    longest = max(len(format_appointment_time(day + timedelta(days=i), OSLO)) for i in range(366))
    assert len(LONG_SAMPLE_VALUES["Tidspunkt"]) == longest
    assert LONG_SAMPLE_VALUES["Tidspunkt"] == "tirsdag 30. september kl. 14:30"
