"""A provider's webhook request, as the parsers and signature checks read it."""

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    body: bytes
    query: Mapping[str, str]
    url: str  # as the provider called it: PUBLIC_BASE_URL + path + query
    headers: Mapping[str, str]  # names in lower case

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")
