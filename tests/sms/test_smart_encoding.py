import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.sms.smart_encoding import LOOK_ALIKES, as_written, smart_encode
from app.sms.text import Encoding, analyze

GSM7 = Encoding.GSM7
UCS2 = Encoding.UCS2
THURSDAY = "Vi ses på torsdag – husk å ta med frikortet"


@pytest.mark.parametrize(
    ("look_alike", "replacement"),
    [
        pytest.param("\u2019", "'", id="right-single-quote"),
        pytest.param("\u2018", "'", id="left-single-quote"),
        pytest.param("\u201c", '"', id="left-double-quote"),
        pytest.param("\u201d", '"', id="right-double-quote"),
        pytest.param("\u2013", "-", id="en-dash"),
        pytest.param("\u2014", "-", id="em-dash"),
        pytest.param("\u2026", "...", id="ellipsis"),
        pytest.param("\u00a0", " ", id="no-break-space"),
    ],
)
def test_each_look_alike_becomes_its_gsm7_equivalent(look_alike: str, replacement: str) -> None:
    encoded = smart_encode(f"Hei{look_alike}Kari")

    assert encoded.written == f"Hei{look_alike}Kari"
    assert encoded.text == f"Hei{replacement}Kari"
    assert encoded.replaced == (look_alike,)
    assert encoded.written_analysis.encoding is UCS2
    assert encoded.analysis.encoding is GSM7
    assert encoded.analysis.length == 7 + len(replacement)
    assert encoded.written_analysis.length == 8


def test_the_look_alikes_are_exactly_these() -> None:
    assert dict(LOOK_ALIKES) == {
        "’": "'",
        "‘": "'",
        "“": '"',
        "”": '"',
        "–": "-",
        "—": "-",
        "…": "...",
        "\u00a0": " ",
    }


def test_one_en_dash_no_longer_makes_a_norwegian_text_ucs2() -> None:
    encoded = smart_encode(THURSDAY)

    assert encoded.text == "Vi ses på torsdag - husk å ta med frikortet"
    assert (encoded.written_analysis.encoding, encoded.written_analysis.length) == (UCS2, 43)
    assert (encoded.analysis.encoding, encoded.analysis.length) == (GSM7, 43)
    assert encoded.analysis.segments == encoded.written_analysis.segments == 1
    assert encoded.replaced == ("–",)


def test_replaced_lists_each_look_alike_once_in_order_of_first_appearance() -> None:
    encoded = smart_encode("“Hei” – ’a’ … “b” —\u00a0‘c’")

    assert encoded.replaced == ("“", "”", "–", "’", "…", "—", "\u00a0", "‘")
    assert encoded.text == "\"Hei\" - 'a' ... \"b\" - 'c'"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Vi ses – hilsen Bjørg på Tromsø ê", id="another-ucs2-character"),
        pytest.param("Vi ses – 😊", id="emoji"),
        pytest.param("ç’", id="lowercase-c-cedilla"),
    ],
)
def test_nothing_is_replaced_when_the_text_stays_ucs2(text: str) -> None:
    encoded = smart_encode(text)

    assert encoded.text == encoded.written == text
    assert encoded.replaced == ()
    assert encoded.analysis == encoded.written_analysis == analyze(text)
    assert encoded.analysis.encoding is UCS2


@pytest.mark.parametrize(
    ("text", "applied", "segments"),
    [
        # One UCS-2 segment holds 70 units; the same text in GSM-7 must fit 160 septets.
        pytest.param("…" * 45 + "a" * 25, True, 1, id="ellipses-fill-160-septets"),
        pytest.param("…" * 46 + "a" * 24, False, 1, id="ellipses-would-need-162-septets"),
        # Two UCS-2 parts hold 134 units; two GSM-7 parts 306 septets.
        pytest.param("…" * 86 + "a" * 48, True, 2, id="ellipses-fill-306-septets"),
        pytest.param("…" * 87 + "a" * 47, False, 2, id="ellipses-would-need-308-septets"),
    ],
)
def test_never_replaced_into_more_segments(text: str, applied: bool, segments: int) -> None:
    encoded = smart_encode(text)

    assert (encoded.text != text) is applied
    assert encoded.replaced == (("…",) if applied else ())
    assert encoded.analysis.encoding is (GSM7 if applied else UCS2)
    assert encoded.written_analysis.segments == segments
    assert encoded.analysis.segments == segments


@pytest.mark.parametrize(
    ("text", "before", "after"),
    [
        pytest.param("–" + "a" * 69, 1, 1, id="70-units-one-segment"),
        pytest.param("–" + "a" * 70, 2, 1, id="71-units-two-segments-become-one"),
        pytest.param("–" + "a" * 159, 3, 1, id="160-septets-one-segment"),
        pytest.param("–" + "a" * 160, 3, 2, id="161-septets-two-segments"),
    ],
)
def test_segments_before_and_after(text: str, before: int, after: int) -> None:
    encoded = smart_encode(text)

    assert encoded.written_analysis.segments == before
    assert encoded.analysis.segments == after
    assert encoded.text == "-" + text[1:]


@pytest.mark.parametrize("text", ["", "Hei Kari! Husk timen.", "a" * 161, "€ [] {}"])
def test_gsm7_text_is_left_as_it_is(text: str) -> None:
    encoded = smart_encode(text)

    assert encoded.text == text
    assert encoded.replaced == ()
    assert encoded.analysis == encoded.written_analysis == analyze(text)


def test_as_written_replaces_nothing() -> None:
    encoded = as_written(THURSDAY)

    assert encoded.text == THURSDAY
    assert encoded.replaced == ()
    assert encoded.analysis == encoded.written_analysis == analyze(THURSDAY)


@given(st.text(alphabet=st.sampled_from([*LOOK_ALIKES, "a", "€", "ê", "😊", " "]), max_size=400))
def test_smart_encoding_never_costs_more(text: str) -> None:
    encoded = smart_encode(text)

    assert encoded.written_analysis == analyze(text)
    assert encoded.analysis == analyze(encoded.text)
    assert encoded.analysis.segments <= encoded.written_analysis.segments
    if encoded.replaced:
        assert encoded.analysis.encoding is GSM7
        assert encoded.text == "".join(LOOK_ALIKES.get(char, char) for char in text)
    else:
        assert encoded.text == text
