"""Webhook bodies in the three formats a LINK gate can post: JSON, XML or form data.

A gate's destination has one content type (LINK Common Gate API: `application/json`,
`application/xml` or `application/x-www-form-urlencoded`), so the `Content-Type` header
decides; without a usable one the body's first character does. XML and form data come out
as the JSON would: objects of strings, nested where the JSON nests.

- XML: the root element is the object, each child element a field (namespaces dropped); a
  child with children is a nested object, a repeated child a list. Parsed by defusedxml
  with DTDs refused, so no entity expansion (billion laughs) and no external entities (XXE).
- Form data: each field a string; a dotted name (`content.userData`) is a nested field.
"""

from collections.abc import Mapping
from enum import StrEnum
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from app.webhooks.parsing import MalformedWebhook, form_fields, json_body

# Deeper than any provider's payload (LINK's MO nests three levels): a bound on recursion.
MAX_XML_DEPTH = 8


class BodyFormat(StrEnum):
    JSON = "json"
    XML = "xml"
    FORM = "form"


_DECLARED: Mapping[str, BodyFormat] = {
    "application/json": BodyFormat.JSON,
    "text/json": BodyFormat.JSON,
    "application/xml": BodyFormat.XML,
    "text/xml": BodyFormat.XML,
    "application/x-www-form-urlencoded": BodyFormat.FORM,
}


def body_format(content_type: str | None, body: bytes) -> BodyFormat:
    media_type = (content_type or "").split(";")[0].strip().lower()
    declared = _DECLARED.get(media_type)
    if declared is not None:
        return declared
    first = body.lstrip()[:1]
    if first in (b"{", b"["):
        return BodyFormat.JSON
    if first == b"<":
        return BodyFormat.XML
    return BodyFormat.FORM


def decoded_body(body: bytes, content_type: str | None) -> Any:
    """The body as JSON values, whichever of the three formats it came in."""
    match body_format(content_type, body):
        case BodyFormat.JSON:
            return json_body(body)
        case BodyFormat.XML:
            return xml_object(body)
        case BodyFormat.FORM:
            return form_object(body)


def xml_object(body: bytes) -> dict[str, Any]:
    try:
        root = fromstring(body, forbid_dtd=True)
    except (ParseError, DefusedXmlException) as exc:
        raise MalformedWebhook("the body is not well-formed XML (or carries a DTD)") from exc
    value = _element_value(root, depth=1)
    if not isinstance(value, dict):
        raise MalformedWebhook("the XML root element holds no fields")
    return value


def _element_value(element: Element, depth: int) -> str | dict[str, Any]:
    if depth > MAX_XML_DEPTH:
        raise MalformedWebhook(f"the XML is nested deeper than {MAX_XML_DEPTH} levels")
    children = list(element)
    if not children:
        return element.text or ""
    fields: dict[str, Any] = {}
    for child in children:
        name = _local_name(child.tag)
        value = _element_value(child, depth + 1)
        if name not in fields:
            fields[name] = value
        elif isinstance(fields[name], list):
            fields[name].append(value)
        else:
            fields[name] = [fields[name], value]
    return fields


def _local_name(tag: str) -> str:
    return tag.rpartition("}")[2]


def form_object(body: bytes) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, value in form_fields(body):
        *parents, leaf = name.split(".")
        target = fields
        for parent in parents:
            nested = target.setdefault(parent, {})
            if not isinstance(nested, dict):
                raise MalformedWebhook(f"`{name}` nests under a field that has a value")
            target = nested
        target[leaf] = value
    return fields
