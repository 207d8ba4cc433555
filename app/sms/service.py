import uuid
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.clinic_settings.models import ClinicSettings
from app.clinic_settings.service import get_clinic_settings
from app.core.errors import InvalidInput
from app.providers.capabilities import describe_characters
from app.providers.registry import text_capability_for
from app.sms.schemas import (
    Cost,
    SmartEncoding,
    TextAnalysisPublic,
    TextFigures,
    UnsupportedCharactersWarning,
)
from app.sms.smart_encoding import EncodedText, as_written, smart_encode
from app.sms.text import TextAnalysis

_FOUR_PLACES = Decimal("0.0001")
_TWO_PLACES = Decimal("0.01")
UNSUPPORTED_CHARACTERS = "unsupported_characters"


def money(amount: Decimal) -> Decimal:
    """At least two and at most four decimals: 1.35, 0.135, 2.00."""
    amount = amount.quantize(_FOUR_PLACES)
    normalized = amount.normalize()
    exponent = normalized.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        return amount.quantize(_TWO_PLACES)
    return normalized


def encode_for(text: str, settings: ClinicSettings) -> EncodedText:
    """The text as the clinic sends it: smart-encoded when its setting says so."""
    return smart_encode(text) if settings.smart_encoding else as_written(text)


def cannot_carry(text: str, settings: ClinicSettings) -> tuple[str, ...]:
    """Characters of `text` the clinic's provider cannot carry."""
    return text_capability_for(settings)[1].cannot_carry(text)


def _cannot_carry_reason(characters: tuple[str, ...], settings: ClinicSettings) -> str:
    return (
        f"the clinic's provider ({settings.provider}) cannot carry "
        f"{describe_characters(characters)}"
    )


def unsupported_characters_warning(
    text: str, settings: ClinicSettings
) -> UnsupportedCharactersWarning | None:
    characters = cannot_carry(text, settings)
    if not characters:
        return None
    return UnsupportedCharactersWarning(
        code=UNSUPPORTED_CHARACTERS,
        detail=f"{_cannot_carry_reason(characters, settings)}; sending this text would be "
        "refused: remove them or replace them with text",
        provider=settings.provider,
        characters=list(characters),
    )


def unsupported_characters_refusal(
    field: str, characters: tuple[str, ...], settings: ClinicSettings
) -> InvalidInput:
    """A 422 naming the characters the clinic's provider cannot carry."""
    reason = _cannot_carry_reason(characters, settings)
    return InvalidInput(
        reason,
        errors=[InvalidInput.for_field(field, reason, UNSUPPORTED_CHARACTERS).errors[0]],
        extra={"provider": settings.provider, "characters": list(characters)},
    )


def _cost(segments: int, settings: ClinicSettings) -> Cost:
    return Cost(
        amount=money(segments * Decimal(str(settings.price_per_segment))),
        currency=settings.currency,
    )


def _figures(text: str, analysis: TextAnalysis, settings: ClinicSettings) -> TextFigures:
    return TextFigures(
        text=text,
        encoding=analysis.encoding,
        length=analysis.length,
        segments=analysis.segments,
        cost=_cost(analysis.segments, settings),
    )


def _smart_encoding(encoded: EncodedText, settings: ClinicSettings) -> SmartEncoding:
    return SmartEncoding(
        enabled=settings.smart_encoding,
        replaced=list(encoded.replaced),
        before=_figures(encoded.written, encoded.written_analysis, settings),
        after=_figures(encoded.text, encoded.analysis, settings),
    )


def public_analysis(encoded: EncodedText, settings: ClinicSettings) -> TextAnalysisPublic:
    """The analysis of a text as sent, priced and capped by the clinic's
    settings, with what its provider cannot carry."""
    analysis = encoded.analysis
    warning = unsupported_characters_warning(encoded.text, settings)
    return TextAnalysisPublic(
        text=encoded.text,
        encoding=analysis.encoding,
        length=analysis.length,
        segments=analysis.segments,
        parts=list(analysis.parts),
        ucs2_characters=list(analysis.ucs2_characters),
        non_bmp_characters=list(analysis.non_bmp_characters),
        first_ucs2_position=analysis.first_ucs2_position,
        cost=_cost(analysis.segments, settings),
        max_segments=settings.max_segments,
        exceeds_max_segments=analysis.segments > settings.max_segments,
        smart_encoding=_smart_encoding(encoded, settings),
        warnings=[warning] if warning is not None else [],
    )


def analyze_for(text: str, settings: ClinicSettings) -> TextAnalysisPublic:
    return public_analysis(encode_for(text, settings), settings)


async def analyze_text(
    session: AsyncSession, *, clinic_id: uuid.UUID, text: str
) -> TextAnalysisPublic:
    return analyze_for(text, await get_clinic_settings(session, clinic_id))
