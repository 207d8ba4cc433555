"""Asking a provider what became of a message whose report never came.

Twilio: `GET /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json` (the Message
resource). Sinch: `GET /xms/v1/{service_plan_id}/batches/{batch_id}/delivery_report/
{recipient_msisdn}` (a recipient delivery report, the body its callback would have had).
LINK Mobility has no status API. Each answer is read by the same parser as the provider's
webhook, so a lookup and a late callback saying the same thing are stored once.
"""

import dataclasses
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote, urlencode

import httpx

from app.deliveries.reports import ParsedReport
from app.providers.http import BearerAuth, missing_credentials, read_json, request_timeout
from app.providers.sinch import REQUIRED_CREDENTIALS as SINCH_CREDENTIALS
from app.providers.twilio import REQUIRED_CREDENTIALS as TWILIO_CREDENTIALS
from app.webhooks import sinch, twilio
from app.webhooks.parsing import MalformedWebhook

logger = logging.getLogger(__name__)

LOOKUP_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class LookupRequest:
    message_id: uuid.UUID
    provider_message_id: str  # Twilio's MessageSid, Sinch's batch id
    to: str  # E.164


class StatusLookup(Protocol):
    async def look_up(self, request: LookupRequest) -> ParsedReport | None:
        """The provider's current report on the message; None when it has none to give."""
        ...


async def _get(
    http: httpx.AsyncClient, url: str, auth: httpx.Auth, label: str
) -> httpx.Response | None:
    """A 200 answer, or None (logged): a lookup that fails is tried again later."""
    try:
        response = await http.get(
            url,
            auth=auth,
            headers={"Accept": "application/json"},
            timeout=request_timeout(LOOKUP_TIMEOUT_SECONDS),
        )
    except httpx.HTTPError as exc:
        logger.warning(
            "status lookup failed", extra={"provider": label, "error": type(exc).__name__}
        )
        return None
    if response.status_code != 200:
        logger.info(
            "no status to look up", extra={"provider": label, "status": response.status_code}
        )
        return None
    return response


class TwilioLookup:
    def __init__(self, http: httpx.AsyncClient, base_url: str, credentials: Mapping[str, str]):
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._credentials = credentials

    async def look_up(self, request: LookupRequest) -> ParsedReport | None:
        sid = quote(self._credentials["account_sid"], safe="")
        url = (
            f"{self._base_url}/2010-04-01/Accounts/{sid}/Messages/"
            f"{quote(request.provider_message_id, safe='')}.json"
        )
        auth = httpx.BasicAuth(self._credentials["account_sid"], self._credentials["auth_token"])
        response = await _get(self._http, url, auth, "Twilio")
        body = read_json(response) if response is not None else None
        if not isinstance(body, Mapping) or not isinstance(body.get("status"), str):
            return None
        error_code = body.get("error_code")
        fields = {"MessageSid": request.provider_message_id, "MessageStatus": body["status"]}
        if isinstance(error_code, int | str) and not isinstance(error_code, bool):
            fields["ErrorCode"] = str(error_code)
        # As the status callback would have said it: the same report is stored once.
        query = {twilio.MESSAGE_ID_PARAMETER: str(request.message_id)}
        return _first(twilio.parse_delivery(urlencode(fields).encode(), query), request)


class SinchLookup:
    def __init__(self, http: httpx.AsyncClient, base_url: str, credentials: Mapping[str, str]):
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._credentials = credentials

    async def look_up(self, request: LookupRequest) -> ParsedReport | None:
        plan = quote(self._credentials["service_plan_id"], safe="")
        batch = quote(request.provider_message_id, safe="")
        recipient = quote(request.to.removeprefix("+"), safe="")
        url = f"{self._base_url}/xms/v1/{plan}/batches/{batch}/delivery_report/{recipient}"
        response = await _get(self._http, url, BearerAuth(self._credentials["api_token"]), "Sinch")
        if response is None:
            return None
        try:
            reports = sinch.parse_delivery(response.content)
        except MalformedWebhook:
            logger.warning("unreadable Sinch delivery report", extra={"provider": "Sinch"})
            return None
        return _first(reports, request)


def _first(reports: list[ParsedReport], request: LookupRequest) -> ParsedReport | None:
    """We asked about this message: the report is about it, whatever it echoes."""
    return dataclasses.replace(reports[0], message_id=request.message_id) if reports else None


def lookup_for(
    provider: str,
    credentials: Mapping[str, Mapping[str, str]],
    http: httpx.AsyncClient,
    base_urls: Mapping[str, str],
) -> StatusLookup | None:
    """The provider's status API with the clinic's credentials; None without one."""
    own = credentials.get(provider, {})
    if provider == "twilio" and not missing_credentials(own, TWILIO_CREDENTIALS):
        return TwilioLookup(http, base_urls["twilio"], own)
    if provider == "sinch" and not missing_credentials(own, SINCH_CREDENTIALS):
        return SinchLookup(http, base_urls["sinch"], own)
    return None
