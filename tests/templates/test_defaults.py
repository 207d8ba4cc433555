from __future__ import annotations

import dataclasses

import pytest

from app.templates.defaults import DEFAULT_TEMPLATES, TemplateDefault, TemplateType
from app.templates.merge import KNOWN_FIELDS, LONG_SAMPLE_VALUES, SAMPLE_VALUES, parse, render

# GSM 03.38 basic character set (128 code points, including the ESC at 0x1B) and the
# characters reachable through the escape (extension) table, which cost two septets.
GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = "\f^{}\\[~]|€"

REPLY_TYPES = {
    TemplateType.REMINDER_1,
    TemplateType.REMINDER_2,
    TemplateType.REMINDER_3,
    TemplateType.BOOKING_CONFIRMATION,
}
REMINDER_TYPES = [TemplateType.REMINDER_1, TemplateType.REMINDER_2, TemplateType.REMINDER_3]
ALL_TYPES = list(TemplateType)


def septets(text: str) -> int:
    return sum(1 if c in GSM7_BASIC else 2 for c in text)


def non_gsm7(text: str) -> set[str]:
    return {c for c in text if c not in GSM7_BASIC and c not in GSM7_EXTENSION}


def test_gsm7_tables_are_complete() -> None:
    assert len(GSM7_BASIC) == 128
    assert len(set(GSM7_BASIC)) == 128
    assert not set(GSM7_BASIC) & set(GSM7_EXTENSION)


def test_template_type_values() -> None:
    assert [t.value for t in TemplateType] == [
        "general",
        "reminder_1",
        "reminder_2",
        "reminder_3",
        "thank_you",
        "notice",
        "recall",
        "booking_confirmation",
        "cancellation_confirmation",
        "marketing",
        "offer",
        "mobile_payment",
    ]
    assert TemplateType("recall") is TemplateType.RECALL
    assert str(TemplateType.RECALL) == "recall"
    assert f"{TemplateType.RECALL}" == "recall"


def test_all_twelve_types_have_a_default() -> None:
    assert len(TemplateType) == 12
    assert set(DEFAULT_TEMPLATES) == set(TemplateType)


def test_defaults_are_read_only() -> None:
    with pytest.raises(TypeError):
        DEFAULT_TEMPLATES[TemplateType.GENERAL] = TemplateDefault("x", allow_reply=False)  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_TEMPLATES[TemplateType.GENERAL].text = "x"  # type: ignore[misc]


@pytest.mark.parametrize("template_type", ALL_TYPES)
def test_default_parses_with_known_fields(template_type: TemplateType) -> None:
    parsed = parse(DEFAULT_TEMPLATES[template_type].text)
    assert parsed.fields <= set(KNOWN_FIELDS)
    assert DEFAULT_TEMPLATES[template_type].text.startswith("Hei [Mottaker]!")


@pytest.mark.parametrize("template_type", ALL_TYPES)
def test_default_text_is_gsm7(template_type: TemplateType) -> None:
    text = DEFAULT_TEMPLATES[template_type].text
    rendered = render(text, SAMPLE_VALUES)
    assert non_gsm7(rendered) == set()
    # Not even extension characters: no leftover '[' or ']' and nothing costing 2 septets.
    assert all(c in GSM7_BASIC for c in rendered)
    assert text == text.strip()


@pytest.mark.parametrize("template_type", ALL_TYPES)
def test_default_fits_one_sms_with_sample_values(template_type: TemplateType) -> None:
    rendered = render(DEFAULT_TEMPLATES[template_type].text, SAMPLE_VALUES)
    assert septets(rendered) <= 160, rendered


@pytest.mark.parametrize("template_type", ALL_TYPES)
def test_default_fits_two_sms_with_long_values(template_type: TemplateType) -> None:
    rendered = render(DEFAULT_TEMPLATES[template_type].text, LONG_SAMPLE_VALUES)
    assert non_gsm7(rendered) == set()
    assert septets(rendered) <= 2 * 153, rendered


@pytest.mark.parametrize("template_type", ALL_TYPES)
def test_allow_reply(template_type: TemplateType) -> None:
    answerable = REPLY_TYPES | {TemplateType.MARKETING, TemplateType.OFFER}  # STOPP
    assert DEFAULT_TEMPLATES[template_type].allow_reply is (template_type in answerable)


@pytest.mark.parametrize("template_type", sorted(REPLY_TYPES))
def test_reply_templates_ask_for_the_clinics_keywords(template_type: TemplateType) -> None:
    text = DEFAULT_TEMPLATES[template_type].text
    assert "Svar [Bekreft] for å bekrefte eller [Avbestill] om [du] ikke kan komme." in text
    assert {"Tidspunkt", "Behandler"} <= parse(text).fields
    values = {**SAMPLE_VALUES, "Bekreft": "KOMMER", "Avbestill": "AVLYS"}
    assert "Svar KOMMER for å bekrefte eller AVLYS om du ikke kan komme." in render(text, values)


@pytest.mark.parametrize("template_type", ALL_TYPES)
def test_no_default_spells_out_a_keyword(template_type: TemplateType) -> None:
    """A clinic that changes its keywords changes every default text with them."""
    words = DEFAULT_TEMPLATES[template_type].text.replace(".", " ").split()
    assert not {"JA", "NEI", "STOPP", "STOP"} & set(words)


GUARDIAN = {**SAMPLE_VALUES, "Fornavn": "Ola", "Mottaker": "Mor", "du": "Ola"}


@pytest.mark.parametrize("template_type", ALL_TYPES)
def test_a_guardians_copy_greets_the_guardian(template_type: TemplateType) -> None:
    rendered = render(DEFAULT_TEMPLATES[template_type].text, GUARDIAN)
    assert rendered.startswith("Hei Mor!")
    assert "Hei Ola" not in rendered


@pytest.mark.parametrize(
    ("template_type", "third_person"),
    [
        (TemplateType.REMINDER_1, "Vi minner om at Ola har time hos"),
        (TemplateType.REMINDER_2, "Påminnelse: Ola har time hos"),
        (TemplateType.REMINDER_3, "Husk at Ola har time hos"),
        (TemplateType.BOOKING_CONFIRMATION, "Nå har Ola fått ny time hos"),
        (TemplateType.CANCELLATION_CONFIRMATION, "Timen Ola hadde hos"),
        (TemplateType.THANK_YOU, "Takk for at Ola var hos oss."),
        (TemplateType.RECALL, "Det er på tide at Ola kommer til tannkontroll igjen."),
    ],
)
def test_a_guardians_copy_names_the_patient_in_the_third_person(
    template_type: TemplateType, third_person: str
) -> None:
    text = DEFAULT_TEMPLATES[template_type].text
    assert third_person in render(text, GUARDIAN)
    assert third_person.replace("Ola", "du") in render(text, SAMPLE_VALUES)


def test_the_thank_you_does_not_say_today() -> None:
    """A visit ending at 20:30 is thanked for after the night pause, the next morning."""
    assert "i dag" not in DEFAULT_TEMPLATES[TemplateType.THANK_YOU].text.lower()


def test_the_recall_does_not_name_an_interval() -> None:
    text = DEFAULT_TEMPLATES[TemplateType.RECALL].text.lower()
    assert not any(word in text for word in ("årlig", "hvert år", "i året", "måneder"))


@pytest.mark.parametrize("template_type", REMINDER_TYPES)
def test_reminders_differ(template_type: TemplateType) -> None:
    others = [DEFAULT_TEMPLATES[t].text for t in REMINDER_TYPES if t is not template_type]
    assert DEFAULT_TEMPLATES[template_type].text not in others


@pytest.mark.parametrize("template_type", [TemplateType.MARKETING, TemplateType.OFFER])
def test_marketing_has_opt_out(template_type: TemplateType) -> None:
    assert "Svar [Stopp] for å reservere deg" in DEFAULT_TEMPLATES[template_type].text


def test_cancellation_confirmation() -> None:
    text = DEFAULT_TEMPLATES[TemplateType.CANCELLATION_CONFIRMATION].text
    assert "avbestilt" in text
    assert {"Tidspunkt", "Businessphone"} <= parse(text).fields


def test_recall_offers_the_phone_and_needs_no_caller_value() -> None:
    """An automatic recall has no caller to give [URL]."""
    fields = parse(DEFAULT_TEMPLATES[TemplateType.RECALL].text).fields
    assert "Businessphone" in fields
    assert not fields & {"URL", "URL1", "URL2", "Tidspunkt", "Behandler"}


def test_mobile_payment_has_link() -> None:
    assert "URL" in parse(DEFAULT_TEMPLATES[TemplateType.MOBILE_PAYMENT].text).fields


def test_notice_and_thank_you_wording() -> None:
    assert "Beskjed fra tannklinikken" in DEFAULT_TEMPLATES[TemplateType.NOTICE].text
    assert "Takk for at [du] var hos oss." in DEFAULT_TEMPLATES[TemplateType.THANK_YOU].text


@pytest.mark.parametrize("template_type", ALL_TYPES)
def test_links_are_not_followed_by_punctuation(template_type: TemplateType) -> None:
    # A "." or ")" right after a URL is often swallowed into the link by phones.
    text = DEFAULT_TEMPLATES[template_type].text
    for name in ("URL", "URL1", "URL2"):
        field = f"[{name}]"
        start = text.find(field)
        while start != -1:
            after = text[start + len(field) : start + len(field) + 1]
            assert after in ("", " ", "\n"), (name, after)
            start = text.find(field, start + 1)
