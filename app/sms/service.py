import uuid
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.clinic_settings.models import ClinicSettings
from app.clinic_settings.service import get_clinic_settings
from app.sms.schemas import Cost, TextAnalysisPublic
from app.sms.text import TextAnalysis, analyze

_FOUR_PLACES = Decimal("0.0001")
_TWO_PLACES = Decimal("0.01")


def money(amount: Decimal) -> Decimal:
    """At least two and at most four decimals: 1.35, 0.135, 2.00."""
    amount = amount.quantize(_FOUR_PLACES)
    normalized = amount.normalize()
    exponent = normalized.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        return amount.quantize(_TWO_PLACES)
    return normalized


def public_analysis(analysis: TextAnalysis, settings: ClinicSettings) -> TextAnalysisPublic:
    """The analysis as the API shows it, priced and capped by the clinic's settings."""
    return TextAnalysisPublic(
        encoding=analysis.encoding,
        length=analysis.length,
        segments=analysis.segments,
        parts=list(analysis.parts),
        ucs2_characters=list(analysis.ucs2_characters),
        non_bmp_characters=list(analysis.non_bmp_characters),
        first_ucs2_position=analysis.first_ucs2_position,
        cost=Cost(
            amount=money(analysis.segments * Decimal(str(settings.price_per_segment))),
            currency=settings.currency,
        ),
        max_segments=settings.max_segments,
        exceeds_max_segments=analysis.segments > settings.max_segments,
    )


async def analyze_text(
    session: AsyncSession, *, clinic_id: uuid.UUID, text: str
) -> TextAnalysisPublic:
    settings = await get_clinic_settings(session, clinic_id)
    return public_analysis(analyze(text), settings)
