from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.sms.schemas import (
    ANALYSIS_EXAMPLE,
    MAX_TEXT_CHARACTERS,
    TextAnalysisPublic,
    UnsupportedCharactersWarning,
)
from app.templates.defaults import TemplateType
from app.templates.merge import KNOWN_FIELDS

_KNOWN = ", ".join(f"[{name}]" for name in KNOWN_FIELDS)
MAX_VALUE_CHARACTERS = 500


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


TemplateText = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_TEXT_CHARACTERS,
        description=f"1-{MAX_TEXT_CHARACTERS} characters, not blank. Merge fields in square "
        f"brackets are replaced when a message is made: {_KNOWN}. Square brackets are only "
        "used for merge fields.",
    ),
    AfterValidator(_not_blank),
]
MergeValue = Annotated[str | None, Field(min_length=1, max_length=MAX_VALUE_CHARACTERS)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TemplateWrite(StrictModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "text": (
                        "Hei [Fornavn]! Husk timen hos [Behandler] [Tidspunkt]. Svar "
                        "JA for å bekrefte eller NEI for å avbestille."
                    ),
                    "allow_reply": True,
                }
            ]
        }
    )

    text: TemplateText
    allow_reply: bool = Field(
        description="Reply-able: sent from the clinic's reply number rather than its sender name"
    )


class MergeValues(StrictModel):
    """Values for a preview; a field left out takes its sample value."""

    Fornavn: MergeValue = None
    Etternavn: MergeValue = None
    Tidspunkt: MergeValue = None
    Behandler: MergeValue = None
    Businessphone: MergeValue = None
    URL: MergeValue = None
    URL1: MergeValue = None
    URL2: MergeValue = None
    Mottaker: MergeValue = Field(
        default=None, description="Who gets the SMS; left out, the patient ([Fornavn])"
    )
    du: MergeValue = Field(
        default=None, description="\"du\" to the patient; a guardian's copy has the patient's name"
    )
    Bekreft: MergeValue = Field(default=None, description="Default: the clinic's confirm keyword")
    Avbestill: MergeValue = Field(default=None, description="Default: the clinic's cancel keyword")
    Stopp: MergeValue = None


class PreviewRequest(StrictModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"patient_no": "10234", "appointment_id": "A-2026-1203-0915"}]
        }
    )

    text: TemplateText | None = Field(
        default=None, description="Preview this (unsaved) text instead of the saved one"
    )
    values: MergeValues | None = Field(
        default=None, description="Merge values overriding the sample values"
    )
    patient_no: str | None = Field(
        default=None, max_length=50, description="Use this patient's names"
    )
    appointment_id: str | None = Field(
        default=None,
        max_length=100,
        description="Use this appointment's time, practitioner and patient",
    )


_TEMPLATE_EXAMPLE_TEXT = (
    "Hei [Fornavn]! Husk timen hos [Behandler] [Tidspunkt] \u2013 ta med frikortet. Svar JA "
    "for a bekrefte."
)
_RENDERED_EXAMPLE_TEXT = (
    "Hei Kari! Husk timen hos Tannlege Berg torsdag 3. desember kl. 09:15 \u2013 ta med "
    "frikortet. Svar JA for a bekrefte."
)


class SegmentsWarning(BaseModel):
    code: Literal["may_exceed_max_segments"]
    detail: str
    segments: int = Field(description="Segments when rendered with long but realistic values")
    max_segments: int


class KeywordWarning(BaseModel):
    code: Literal["keyword_spelled_out"]
    detail: str
    keywords: list[str] = Field(description="The reply keywords written out in the text")


TemplateWarning = Annotated[
    SegmentsWarning | KeywordWarning | UnsupportedCharactersWarning, Field(discriminator="code")
]


class TemplatePublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "reminder_1",
                    "text": _TEMPLATE_EXAMPLE_TEXT,
                    "allow_reply": True,
                    "is_default": False,
                    "merge_fields": ["Fornavn", "Behandler", "Tidspunkt"],
                    "updated_at": "2026-12-01T13:00:00Z",
                    "analysis": ANALYSIS_EXAMPLE,
                    "warnings": [],
                }
            ]
        }
    )

    type: TemplateType
    text: str
    allow_reply: bool
    is_default: bool = Field(description="The text is our default text for this type")
    merge_fields: list[str] = Field(description="Merge fields the text uses, in known order")
    updated_at: datetime
    analysis: TextAnalysisPublic = Field(description="The text rendered with sample values")
    warnings: list[TemplateWarning] = Field(
        description="E.g. the text may exceed the clinic's max_segments with long values, "
        "or holds characters the clinic's provider cannot carry"
    )


class TemplateList(BaseModel):
    data: list[TemplatePublic]


class TemplatePreview(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "reminder_1",
                    "template_text": _TEMPLATE_EXAMPLE_TEXT,
                    "text": _RENDERED_EXAMPLE_TEXT,
                    "values": {
                        "Fornavn": "Kari",
                        "Behandler": "Tannlege Berg",
                        "Tidspunkt": "torsdag 3. desember kl. 09:15",
                    },
                    "analysis": ANALYSIS_EXAMPLE,
                    "warnings": [],
                }
            ]
        }
    )

    type: TemplateType
    template_text: str = Field(description="The template text that was rendered")
    text: str = Field(
        description="The rendered message as written; `analysis.text` is how it is sent"
    )
    values: dict[str, str] = Field(description="The value used for each merge field in the text")
    analysis: TextAnalysisPublic
    warnings: list[TemplateWarning]
