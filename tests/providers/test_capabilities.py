import pytest

from app.clinic_settings.models import ClinicSettings
from app.clinic_settings.schemas import ProviderName
from app.providers.capabilities import ANY_TEXT, BMP_ONLY, TextCapability, describe_characters
from app.providers.registry import TEXT_CAPABILITIES, text_capability_for


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        pytest.param("Hei Kåre – æøå € ê 中", (), id="bmp-text"),
        pytest.param("\uffff", (), id="last-bmp-character"),
        pytest.param("\U00010000", ("\U00010000",), id="first-character-past-the-bmp"),
        pytest.param("Hei 😊 🦷 😊!", ("😊", "🦷"), id="emoji-once-each-in-order"),
    ],
)
def test_bmp_only_refuses_what_lies_outside_the_bmp(text: str, refused: tuple[str, ...]) -> None:
    assert BMP_ONLY.cannot_carry(text) == refused


def test_any_text_carries_every_character() -> None:
    assert ANY_TEXT.cannot_carry("Hei 😊 \U0010ffff \uffff") == ()


def test_the_limit_is_the_last_code_point_carried() -> None:
    capability = TextCapability(ord("b"))

    assert capability.cannot_carry("abcab") == ("c",)


def test_describe_characters_names_the_first_five_with_their_code_points() -> None:
    assert describe_characters(("😊",)) == "😊 (U+1F60A)"
    assert describe_characters(("\u00a0", "a")) == "\u00a0 (U+00A0), a (U+0061)"
    five = tuple("abcde")
    assert describe_characters(five) == "a (U+0061), b (U+0062), c (U+0063), d (U+0064), e (U+0065)"
    assert describe_characters((*five, "f")).endswith("e (U+0065), …")


def test_every_provider_declares_what_it_carries() -> None:
    assert set(TEXT_CAPABILITIES) == set(ProviderName)
    assert TEXT_CAPABILITIES[ProviderName.LINKMOBILITY] is BMP_ONLY
    for provider in (ProviderName.SANDBOX, ProviderName.SINCH, ProviderName.TWILIO):
        assert TEXT_CAPABILITIES[provider] is ANY_TEXT


@pytest.mark.parametrize(
    ("provider", "capability"), [("linkmobility", BMP_ONLY), ("sinch", ANY_TEXT)]
)
def test_the_clinics_provider_decides(provider: str, capability: TextCapability) -> None:
    assert text_capability_for(ClinicSettings(provider=provider)) == (
        ProviderName(provider),
        capability,
    )


@pytest.mark.parametrize(
    ("primary", "secondary"),
    [
        (ProviderName.SINCH, ProviderName.LINKMOBILITY),
        (ProviderName.LINKMOBILITY, ProviderName.SINCH),
    ],
)
def test_with_a_secondary_the_narrower_of_the_two_decides(
    primary: ProviderName, secondary: ProviderName
) -> None:
    settings = ClinicSettings(provider=primary, secondary_provider=secondary)
    assert text_capability_for(settings) == (ProviderName.LINKMOBILITY, BMP_ONLY)


def test_a_secondary_that_carries_as_much_changes_nothing() -> None:
    settings = ClinicSettings(provider=ProviderName.SINCH, secondary_provider=ProviderName.TWILIO)
    assert text_capability_for(settings) == (ProviderName.SINCH, ANY_TEXT)
