import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.sms.text import (
    GSM7_BASIC_CHARACTERS,
    GSM7_EXTENSION_CHARACTERS,
    Encoding,
    TextAnalysis,
    analyze,
    septet_length,
)

GSM7 = Encoding.GSM7
UCS2 = Encoding.UCS2
NORWEGIAN_REMINDER = (
    "Hei! Påminnelse om time hos tannlegen i morgen kl. 10:00. Svar JA for å bekrefte."
)
NORWEGIAN_WITH_DASH_AND_APOSTROPHE = "Vi ses på torsdag – husk å ta med frikort’et."


def cycle(alphabet: str, count: int) -> str:
    return (alphabet * (count // len(alphabet) + 1))[:count]


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def gsm7_septets(text: str) -> int:
    total = 0
    for char in text:
        septets = septet_length(char)
        assert septets is not None
        total += septets
    return total


def part_length(analysis: TextAnalysis, part: str) -> int:
    return gsm7_septets(part) if analysis.encoding is GSM7 else utf16_length(part)


def part_limit(analysis: TextAnalysis) -> int:
    if analysis.encoding is GSM7:
        return 160 if analysis.segments == 1 else 153
    return 70 if analysis.segments == 1 else 67


@pytest.mark.parametrize(
    ("text", "encoding", "length", "segments"),
    [
        pytest.param(NORWEGIAN_REMINDER, GSM7, 81, 1, id="norwegian-reminder"),
        pytest.param(cycle("æøåÆØÅ", 160), GSM7, 160, 1, id="norwegian-letters-160"),
        pytest.param(cycle("æøåÆØÅ", 161), GSM7, 161, 2, id="norwegian-letters-161"),
        pytest.param("€" * 80, GSM7, 160, 1, id="euro-80"),
        pytest.param("€" * 81, GSM7, 162, 2, id="euro-81"),
        pytest.param("a" * 158 + "|", GSM7, 160, 1, id="escape-fills-single-segment"),
        pytest.param("a" * 159 + "|", GSM7, 161, 2, id="escape-overflows-single-segment"),
        pytest.param("a" * 306, GSM7, 306, 2, id="gsm-two-full-parts"),
        pytest.param("a" * 307, GSM7, 307, 3, id="gsm-three-parts"),
        pytest.param("a" * 152 + "€" + "a" * 152, GSM7, 306, 3, id="escape-not-split"),
        pytest.param("😊" + "a" * 68, UCS2, 70, 1, id="emoji-fills-single-segment"),
        pytest.param("😊" + "a" * 69, UCS2, 71, 2, id="emoji-overflows-single-segment"),
        pytest.param("ê" * 70, UCS2, 70, 1, id="ucs2-70"),
        pytest.param("ê" * 71, UCS2, 71, 2, id="ucs2-71"),
        pytest.param("ê" + "a" * 133, UCS2, 134, 2, id="ucs2-two-full-parts"),
        pytest.param("ê" + "a" * 134, UCS2, 135, 3, id="ucs2-three-parts"),
        pytest.param(NORWEGIAN_WITH_DASH_AND_APOSTROPHE, UCS2, 45, 1, id="en-dash-and-quote"),
    ],
)
def test_known_texts(text: str, encoding: Encoding, length: int, segments: int) -> None:
    analysis = analyze(text)

    assert analysis.encoding is encoding
    assert analysis.length == length
    assert analysis.segments == segments
    assert len(analysis.parts) == segments
    assert "".join(analysis.parts) == text


def test_escape_pair_closes_the_part_early() -> None:
    analysis = analyze("a" * 152 + "€" + "a" * 152)

    assert analysis.parts == ("a" * 152, "€" + "a" * 151, "a")


def test_gsm_multipart_without_escapes_uses_full_parts() -> None:
    assert analyze("a" * 307).parts == ("a" * 153, "a" * 153, "a")


def test_surrogate_pair_is_never_split() -> None:
    text = "a" * 66 + "😊" + "a" * 10

    analysis = analyze(text)

    assert analysis.encoding is UCS2
    assert analysis.length == 78
    assert analysis.parts == ("a" * 66, "😊" + "a" * 10)
    assert all(utf16_length(part) <= 67 for part in analysis.parts)
    assert "".join(analysis.parts) == text


def test_reports_characters_forcing_ucs2() -> None:
    analysis = analyze(NORWEGIAN_WITH_DASH_AND_APOSTROPHE)

    assert analysis.ucs2_characters == ("–", "’")
    assert analysis.non_bmp_characters == ()
    assert analysis.first_ucs2_position == NORWEGIAN_WITH_DASH_AND_APOSTROPHE.index("–")


def test_reports_distinct_characters_in_first_appearance_order() -> None:
    analysis = analyze("Hei 😊 ça va? 👍 ç 😊 `x`")

    assert analysis.ucs2_characters == ("😊", "ç", "👍", "`")
    assert analysis.non_bmp_characters == ("😊", "👍")
    assert analysis.first_ucs2_position == 4
    assert analysis.length == len("Hei 😊 ça va? 👍 ç 😊 `x`") + 3


def test_gsm_text_reports_no_ucs2_characters() -> None:
    analysis = analyze("Ærlig talt {koster} det 100€ ^_^")

    assert analysis.encoding is GSM7
    assert analysis.ucs2_characters == ()
    assert analysis.non_bmp_characters == ()
    assert analysis.first_ucs2_position is None


def test_empty_text() -> None:
    assert analyze("") == TextAnalysis(GSM7, 0, 0, (), (), (), None)


@pytest.mark.parametrize(
    ("char", "septets"),
    [
        pytest.param("a", 1, id="ascii"),
        pytest.param("\n", 1, id="newline"),
        pytest.param("Ç", 1, id="capital-c-cedilla"),
        pytest.param("€", 2, id="euro"),
        pytest.param("\f", 2, id="form-feed"),
        pytest.param("ç", None, id="small-c-cedilla"),
        pytest.param("`", None, id="backtick"),
        pytest.param("’", None, id="right-single-quote"),
        pytest.param("😊", None, id="emoji"),
    ],
)
def test_septet_length(char: str, septets: int | None) -> None:
    assert septet_length(char) == septets


def test_alphabet_sizes() -> None:
    assert len(GSM7_BASIC_CHARACTERS) == 127
    assert len(GSM7_EXTENSION_CHARACTERS) == 10
    assert not set("çêóáô`’–") & (GSM7_BASIC_CHARACTERS | GSM7_EXTENSION_CHARACTERS)


GSM7_ALPHABET = sorted(GSM7_BASIC_CHARACTERS | GSM7_EXTENSION_CHARACTERS)
UCS2_ONLY_ALPHABET = list("çêóáô`’–«»ЖΩ中")
EMOJI_ALPHABET = ["😊", "👍", "🦷", "𝄞"]


def long_texts(characters: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Texts long enough to need several parts: runs of repeated characters, or padding + text."""
    runs = st.lists(st.tuples(characters, st.integers(1, 160)), max_size=8).map(
        lambda runs: "".join(char * count for char, count in runs)
    )
    padded = st.builds(
        lambda padding, count, tail: padding * count + tail,
        characters,
        st.integers(0, 320),
        st.text(alphabet=characters, max_size=40),
    )
    return st.one_of(st.text(alphabet=characters, max_size=500), runs, padded)


gsm7_characters = st.sampled_from(GSM7_ALPHABET)
mixed_characters = st.one_of(
    st.sampled_from("abc ÆØÅæøå.,!?\n"),
    gsm7_characters,
    st.sampled_from(sorted(GSM7_EXTENSION_CHARACTERS)),
    st.sampled_from(UCS2_ONLY_ALPHABET),
    st.sampled_from(EMOJI_ALPHABET),
)
gsm7_texts = long_texts(gsm7_characters)
mixed_texts = long_texts(mixed_characters)
any_texts = st.one_of(gsm7_texts, mixed_texts)
any_characters = st.sampled_from(GSM7_ALPHABET + UCS2_ONLY_ALPHABET + EMOJI_ALPHABET)


@given(any_texts)
def test_parts_rejoin_to_the_text(text: str) -> None:
    assert "".join(analyze(text).parts) == text


@given(any_texts)
def test_every_part_fits_its_limit(text: str) -> None:
    analysis = analyze(text)

    assert len(analysis.parts) == analysis.segments
    assert all(part for part in analysis.parts)
    assert all(part_length(analysis, part) <= part_limit(analysis) for part in analysis.parts)
    assert sum(part_length(analysis, part) for part in analysis.parts) == analysis.length


@given(any_texts)
def test_parts_are_filled_greedily(text: str) -> None:
    analysis = analyze(text)

    for part, following in zip(analysis.parts, analysis.parts[1:], strict=False):
        assert part_length(analysis, part + following[0]) > part_limit(analysis)


@given(any_texts, any_characters)
def test_appending_never_lowers_the_segment_count(text: str, char: str) -> None:
    assert analyze(text + char).segments >= analyze(text).segments


@given(gsm7_texts)
def test_gsm7_alphabet_never_reports_ucs2(text: str) -> None:
    analysis = analyze(text)

    assert analysis.encoding is GSM7
    assert analysis.length == gsm7_septets(text)
    assert analysis.ucs2_characters == ()
    assert analysis.first_ucs2_position is None


@given(mixed_texts)
def test_ucs2_reporting_matches_the_text(text: str) -> None:
    analysis = analyze(text)
    outside_gsm7 = [i for i, char in enumerate(text) if septet_length(char) is None]

    if not outside_gsm7:
        assert analysis.encoding is GSM7
        return
    assert analysis.encoding is UCS2
    assert analysis.length == utf16_length(text)
    assert analysis.first_ucs2_position == outside_gsm7[0]
    assert analysis.ucs2_characters == tuple(dict.fromkeys(text[i] for i in outside_gsm7))
    assert analysis.non_bmp_characters == tuple(
        dict.fromkeys(char for char in text if ord(char) > 0xFFFF)
    )


def test_plain_gsm_text_has_nothing_to_flag() -> None:
    assert analyze("Hei Kari, velkommen til timen i morgen kl. 09:30.") == TextAnalysis(
        Encoding.GSM7,
        49,
        1,
        ("Hei Kari, velkommen til timen i morgen kl. 09:30.",),
        (),
        (),
        None,
    )


def test_the_last_bmp_character_is_not_outside_the_bmp() -> None:
    analysis = analyze("Hei \uffff")
    assert analysis.ucs2_characters == ("\uffff",)
    assert analysis.non_bmp_characters == ()
    assert analysis.length == 5
