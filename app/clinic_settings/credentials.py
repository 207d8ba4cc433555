"""Provider credentials as a clinic enters them: write-only, and checked for shape.

A credential of the wrong shape is accepted by nobody but us: every send then fails with
the provider's 401 or 404. So each is checked where its shape is known (a Twilio account
SID is `AC` + 32 hexadecimal digits, Twilio error 21470), and every one for what would
break the request it goes into (spaces around a pasted token, a line break in a header).
Messages name the rule, never the value.
"""

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

MAX_CREDENTIAL_LENGTH = 256
_TWILIO_ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
# Sinch puts the service plan id in the URL path (/xms/v1/{service_plan_id}/batches).
_SINCH_SERVICE_PLAN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_WHITESPACE = re.compile(r"\s")


def _check_text(value: str) -> str:
    """Any credential: no spaces around it, no control characters, not empty."""
    if not value:
        raise ValueError("must not be empty (send null to clear it)")
    if value != value.strip():
        raise ValueError("has spaces or line breaks around it; paste it without them")
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        raise ValueError("must not contain control characters")
    if len(value) > MAX_CREDENTIAL_LENGTH:
        raise ValueError(f"is longer than {MAX_CREDENTIAL_LENGTH} characters")
    return value


def _check_token(value: str) -> str:
    """An id, key or token: one word, no spaces anywhere."""
    if _WHITESPACE.search(_check_text(value)):
        raise ValueError("must not contain spaces")
    return value


def _check_twilio_account_sid(value: str) -> str:
    if not _TWILIO_ACCOUNT_SID.fullmatch(value):
        raise ValueError("a Twilio account SID is AC followed by 32 hexadecimal digits")
    return value


def _check_sinch_service_plan_id(value: str) -> str:
    if not _SINCH_SERVICE_PLAN_ID.fullmatch(value):
        raise ValueError("a Sinch service plan id is letters and digits (up to 64)")
    return value


Text = Annotated[str, AfterValidator(_check_text)]
Token = Annotated[str, AfterValidator(_check_token)]
TwilioAccountSid = Annotated[str, AfterValidator(_check_twilio_account_sid)]
SinchServicePlanId = Annotated[str, AfterValidator(_check_sinch_service_plan_id)]


class _Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LinkMobilityCredentials(_Credentials):
    username: Text | None = None
    password: Text | None = None
    platform_id: Token | None = None
    platform_partner_id: Token | None = None
    gate_id: Token | None = Field(default=None, description="Gate for delivery reports")


class SinchCredentials(_Credentials):
    service_plan_id: SinchServicePlanId | None = None
    api_token: Token | None = None
    callback_secret: Token | None = Field(
        default=None,
        description="The secret of Sinch's HMAC callback signing; when set, callbacks "
        "without a valid x-sinch-webhook-signature are refused with 401",
    )


class TwilioCredentials(_Credentials):
    account_sid: TwilioAccountSid | None = Field(
        default=None, description="AC followed by 32 hexadecimal digits"
    )
    auth_token: Token | None = None
    webhook_shared_key: Token | None = Field(
        default=None,
        description="The secret of a Twilio webhook SharedKey, for callbacks signed with "
        "it (HMAC-SHA256, X-Twilio-Webhooks-Signature-Settings) instead of the auth token",
    )


class ProviderCredentials(_Credentials):
    """Write-only. A field sent as null is cleared; a field left out is kept."""

    linkmobility: LinkMobilityCredentials | None = None
    sinch: SinchCredentials | None = None
    twilio: TwilioCredentials | None = None
