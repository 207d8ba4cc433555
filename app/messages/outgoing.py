"""A rendered text as the clinic sends it: smart-encoded, checked against its provider and
against the clinic's segment cap, and the 422s for a text that cannot go."""

from dataclasses import dataclass

from app.clinic_settings.models import ClinicSettings
from app.core.errors import InvalidInput
from app.messages.compose import Content
from app.sms.service import cannot_carry, encode_for, unsupported_characters_refusal
from app.sms.smart_encoding import EncodedText
from app.sms.text import TextAnalysis


def over_the_cap(analysis: TextAnalysis, settings: ClinicSettings) -> InvalidInput:
    reason = (
        f"the text is {analysis.segments} segments ({analysis.length} "
        f"{'septets' if analysis.encoding == 'GSM-7' else 'UTF-16 units'}, {analysis.encoding}); "
        f"this clinic allows at most {settings.max_segments}"
    )
    return InvalidInput(
        reason,
        errors=[InvalidInput.for_field("text", reason, "too_many_segments").errors[0]],
        extra={
            "segments": analysis.segments,
            "max_segments": settings.max_segments,
            "length": analysis.length,
            "encoding": analysis.encoding,
        },
    )


@dataclass(frozen=True, slots=True)
class Outgoing:
    encoded: EncodedText
    """The text as it will be sent, and its analysis."""
    uncarriable: tuple[str, ...]
    """Characters of it the clinic's provider cannot carry."""


def outgoing(text: str, settings: ClinicSettings) -> Outgoing:
    """A rendered text as the clinic sends it: smart-encoded, checked against its provider."""
    encoded = encode_for(text, settings)
    return Outgoing(encoded, cannot_carry(encoded.text, settings))


def shared_source_of(characters: tuple[str, ...], content: Content) -> str | None:
    """The request field every recipient's text takes `characters` from, if one does:
    the text or template, a merge value, or the practitioner (else a patient's name)."""
    template_field = "text" if content.request.text is not None else "template_type"
    sources = [(template_field, content.template.text)]
    values = content.request.merge_values
    sources += [(f"merge_values.{key}", value) for key, value in values.items()]
    sources.append(("practitioner", content.request.practitioner or ""))
    for field, text in sources:
        if any(char in text for char in characters):
            return field
    return None


def uncarriable(
    characters: tuple[str, ...], content: Content, settings: ClinicSettings
) -> InvalidInput:
    """The 422 for a text the clinic's provider cannot carry, naming the field it came from."""
    field = shared_source_of(characters, content) or "patient_no"
    return unsupported_characters_refusal(field, characters, settings)
