"""Twilio Programmable Messaging adapter.

One form-encoded `POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json` per message,
with bounded concurrency and HTTP Basic auth (account SID : auth token). Error bodies are
`{"code", "message", "more_info", "status"}`; the numeric `code` decides first.
"""

from collections.abc import Mapping
from datetime import datetime
from urllib.parse import quote, urlencode

import httpx

from app.providers.base import Accepted, Failed, OutboundSms, SendResult
from app.providers.capabilities import ANY_TEXT
from app.providers.http import (
    COMMON_STATUS_OUTCOMES,
    PERMANENT,
    RETRYABLE,
    KindAndReason,
    PerMessageProvider,
    clamp,
    failure_for_status,
    post,
    provider_code,
    read_json,
    seconds_until,
    unreadable_answer,
)

LABEL = "Twilio"
BATCH_LIMIT = 1000
REQUIRED_CREDENTIALS = ("account_sid", "auth_token")
# ValidityPeriod: 1 to 36,000 seconds (10 h); also the default.
MIN_VALIDITY_SECONDS = 1
MAX_VALIDITY_SECONDS = 36_000

ERROR_CODE_OUTCOMES: Mapping[str, KindAndReason] = {
    "20003": (PERMANENT, "authentication failed"),
    "20404": (PERMANENT, "resource not found (check the account SID)"),
    # "An API Request that receives an error 429 response is never processed".
    "20429": (RETRYABLE, "too many requests; the request was not processed"),
    "20503": (RETRYABLE, "service temporarily unavailable"),
    "21211": (PERMANENT, "invalid 'To' number"),
    "21212": (PERMANENT, "invalid 'From' number or sender id"),
    "21408": (PERMANENT, "sending to this region is not enabled"),
    "21602": (PERMANENT, "message body is required"),
    "21606": (PERMANENT, "'From' cannot send to this destination"),
    "21610": (PERMANENT, "recipient has unsubscribed (STOP)"),
    # Raised at creation when the sender's queue is full: the message was not created.
    "21611": (RETRYABLE, "the sender's queue is full; message not created"),
    "21612": (PERMANENT, "'To' number cannot be reached by SMS"),
    "21614": (PERMANENT, "'To' number is not a mobile number"),
    "21617": (PERMANENT, "message body is too long"),
    "21624": (PERMANENT, "invalid validity period"),
    "21660": (PERMANENT, "'From' number does not belong to this account"),
}

# 503: Twilio's 20503 "temporarily unavailable; try again with back-off". A 500 or any
# other 5xx stays UNKNOWN (class default): the request may have been processed.
STATUS_OUTCOMES: Mapping[int, KindAndReason] = {
    **COMMON_STATUS_OUTCOMES,
    503: (RETRYABLE, "service unavailable; the request was not processed"),
}


class TwilioProvider(PerMessageProvider):
    name = "twilio"
    text_capability = ANY_TEXT
    label = LABEL
    required_credentials = REQUIRED_CREDENTIALS
    max_batch_size = BATCH_LIMIT

    async def _send_one(self, sms: OutboundSms) -> SendResult:
        response = await post(
            self._http,
            self._messages_url(),
            label=LABEL,
            time_limit=self._timeout,
            auth=httpx.BasicAuth(self._credentials["account_sid"], self._credentials["auth_token"]),
            headers={"Accept": "application/json"},
            data=self._form(sms, self._clock()),
        )
        if isinstance(response, Failed):
            return response
        if not response.is_success:
            code = provider_code(read_json(response), "code")
            return failure_for_status(
                LABEL, response.status_code, code, ERROR_CODE_OUTCOMES, STATUS_OUTCOMES
            )
        return created_message(response)

    def _messages_url(self) -> str:
        sid = quote(self._credentials["account_sid"], safe="")
        return f"{self._base_url}/2010-04-01/Accounts/{sid}/Messages.json"

    def _form(self, sms: OutboundSms, now: datetime) -> dict[str, str]:
        form = {
            "To": sms.to,
            "From": sms.sender,
            "Body": sms.text,
            "ValidityPeriod": str(validity_period(sms.expires_at, now)),
        }
        if self._callback_url:
            form["StatusCallback"] = status_callback(self._callback_url, sms.message_id)
        return form


def status_callback(url: str, message_id: str) -> str:
    """Our id rides in the callback URL: Twilio's reports name only its own MessageSid."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}{urlencode({'message_id': message_id})}"


def validity_period(expires_at: datetime, now: datetime) -> int:
    """Whole seconds until expiry, clamped to Twilio's 1..36,000."""
    seconds = clamp(seconds_until(expires_at, now), MIN_VALIDITY_SECONDS, MAX_VALIDITY_SECONDS)
    return int(seconds)


def created_message(response: httpx.Response) -> SendResult:
    answer = read_json(response)
    sid = answer.get("sid") if isinstance(answer, Mapping) else None
    if isinstance(sid, str) and sid:
        return Accepted(sid)
    return unreadable_answer(LABEL, response.status_code)
