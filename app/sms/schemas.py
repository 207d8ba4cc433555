from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.sms.text import Encoding

MAX_TEXT_CHARACTERS = 2000

SmsText = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_TEXT_CHARACTERS,
        description=f"The message text, 1-{MAX_TEXT_CHARACTERS} characters",
    ),
]


class AnalyzeRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"text": "Hei Kari! Husk timen hos Tannlege Berg torsdag kl. 09:15."}]
        },
        extra="forbid",
    )

    text: SmsText


class Cost(BaseModel):
    amount: Decimal = Field(description="segments × the clinic's price per segment")
    currency: str


class TextAnalysisPublic(BaseModel):
    """How a text goes out as SMS: encoding, length, segments and what it costs."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "encoding": "GSM-7",
                    "length": 96,
                    "segments": 1,
                    "parts": [
                        (
                            "Hei Kari! Husk timen hos Tannlege Berg torsdag 3. desember "
                            "kl. 09:15. Svar JA for a bekrefte."
                        )
                    ],
                    "ucs2_characters": [],
                    "non_bmp_characters": [],
                    "first_ucs2_position": None,
                    "cost": {"amount": "0.45", "currency": "NOK"},
                    "max_segments": 3,
                    "exceeds_max_segments": False,
                }
            ]
        }
    )

    encoding: Encoding = Field(
        description="GSM-7 when every character is in GSM 03.38 (basic or extension), else UCS-2"
    )
    length: int = Field(
        description="Septets for GSM-7 (extension characters count 2); "
        "UTF-16 code units for UCS-2 (characters outside the BMP count 2)"
    )
    segments: int = Field(
        description="SMS parts: one holds 160 septets / 70 units; "
        "a multi-part message 153 / 67 per part"
    )
    parts: list[str] = Field(description="The text split as it will be sent")
    ucs2_characters: list[str] = Field(
        description="Distinct characters that force UCS-2, in order of first appearance"
    )
    non_bmp_characters: list[str] = Field(
        description="Distinct characters outside the BMP (most emoji); each counts 2"
    )
    first_ucs2_position: int | None = Field(
        description="0-based index (code points) of the first character that forces UCS-2"
    )
    cost: Cost
    max_segments: int = Field(description="The clinic's cap on segments per message")
    exceeds_max_segments: bool = Field(
        description="Over the cap: sending this text would be refused with 422"
    )
