from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

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


class TextFigures(BaseModel):
    text: str
    encoding: Encoding
    length: int = Field(description="Septets (GSM-7) or UTF-16 code units (UCS-2)")
    segments: int
    cost: Cost


class SmartEncoding(BaseModel):
    enabled: bool = Field(description="The clinic's `smart_encoding` setting")
    replaced: list[str] = Field(
        description="Look-alike characters replaced, in order of first appearance; empty "
        "when none were (off, none in the text, or the text stays UCS-2 or would take more "
        "segments)"
    )
    before: TextFigures = Field(description="The text as written")
    after: TextFigures = Field(description="The text as it will be sent")


class UnsupportedCharactersWarning(BaseModel):
    code: Literal["unsupported_characters"]
    detail: str
    provider: str = Field(description="The clinic's provider")
    characters: list[str] = Field(
        description="Distinct characters the provider cannot carry, in order of first "
        "appearance; sending such a text is refused with 422"
    )


_ANALYSIS_EXAMPLE_TEXT = (
    "Hei Kari! Husk timen hos Tannlege Berg torsdag 3. desember kl. 09:15 - ta med "
    "frikortet. Svar JA for a bekrefte."
)
_ANALYSIS_EXAMPLE_COST: JsonDict = {"amount": "0.45", "currency": "NOK"}
ANALYSIS_EXAMPLE: JsonDict = {
    "text": _ANALYSIS_EXAMPLE_TEXT,
    "encoding": "GSM-7",
    "length": 112,
    "segments": 1,
    "parts": [_ANALYSIS_EXAMPLE_TEXT],
    "ucs2_characters": [],
    "non_bmp_characters": [],
    "first_ucs2_position": None,
    "cost": _ANALYSIS_EXAMPLE_COST,
    "max_segments": 3,
    "exceeds_max_segments": False,
    "smart_encoding": {
        "enabled": True,
        "replaced": ["–"],
        "before": {
            "text": _ANALYSIS_EXAMPLE_TEXT.replace(" - ", " – "),
            "encoding": "UCS-2",
            "length": 112,
            "segments": 2,
            "cost": {"amount": "0.90", "currency": "NOK"},
        },
        "after": {
            "text": _ANALYSIS_EXAMPLE_TEXT,
            "encoding": "GSM-7",
            "length": 112,
            "segments": 1,
            "cost": _ANALYSIS_EXAMPLE_COST,
        },
    },
    "warnings": [],
}


class TextAnalysisPublic(BaseModel):
    """How a text goes out as SMS: the text as sent (after smart encoding), its encoding,
    length, segments and what it costs, and what the clinic's provider cannot carry."""

    model_config = ConfigDict(json_schema_extra={"examples": [ANALYSIS_EXAMPLE]})

    text: str = Field(description="The text as it will be sent (after smart encoding)")
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
    smart_encoding: SmartEncoding = Field(
        description="Look-alikes replaced, and the figures before and after"
    )
    warnings: list[UnsupportedCharactersWarning] = Field(
        description="E.g. characters the clinic's provider cannot carry (LINK: emoji)"
    )
