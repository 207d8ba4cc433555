"""Sinch SMS REST API (xms v1) adapter.

Each message is its own batch, `POST {base}/xms/v1/{service_plan_id}/batches`, because the
texts differ; the requests run with bounded concurrency. Errors: HTTP 400/403 carry
`{"code", "text"}`; the docs describe 500 and 503 as "not processed" / "unable to
perform", but only 503 is trusted as a refusal (see STATUS_OUTCOMES).
"""

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import httpx

from app.providers.base import Accepted, Failed, OutboundSms, SendResult
from app.providers.capabilities import ANY_TEXT
from app.providers.http import (
    COMMON_STATUS_OUTCOMES,
    PERMANENT,
    RETRYABLE,
    BearerAuth,
    KindAndReason,
    PerMessageProvider,
    failure_for_status,
    post,
    provider_code,
    read_json,
    unreadable_answer,
)

LABEL = "Sinch"
BATCH_LIMIT = 1000
REQUIRED_CREDENTIALS = ("service_plan_id", "api_token")
MIN_VALIDITY = timedelta(seconds=60)
# "Default and maximum: 3 days after send_at".
MAX_VALIDITY = timedelta(days=3)

# The `code` of an error body (documented with HTTP 400 and 403).
ERROR_CODE_OUTCOMES: Mapping[str, KindAndReason] = {
    "syntax_invalid_json": (PERMANENT, "request body is not valid JSON"),
    "syntax_invalid_parameter_format": (PERMANENT, "a field has an invalid format (e.g. a number)"),
    "syntax_constraint_violation": (PERMANENT, "request breaks an API constraint"),
    "unknown_group": (PERMANENT, "unknown group"),
    "unknown_campaign": (PERMANENT, "campaign does not match the sender"),
    "missing_callback_url": (PERMANENT, "delivery report requested but no callback URL"),
}

# 503: "unable to perform the request ... a required subsystem being unavailable", a
# refusal. 500 is documented as "not processed", yet it is an *unexpected* error, so it
# stays UNKNOWN (the class default) to keep at-most-once.
STATUS_OUTCOMES: Mapping[int, KindAndReason] = {
    **COMMON_STATUS_OUTCOMES,
    401: (PERMANENT, "API token rejected for this service plan"),
    503: (RETRYABLE, "service unavailable; the request was not performed"),
}


class SinchProvider(PerMessageProvider):
    name = "sinch"
    text_capability = ANY_TEXT
    label = LABEL
    required_credentials = REQUIRED_CREDENTIALS
    max_batch_size = BATCH_LIMIT

    async def _send_one(self, sms: OutboundSms) -> SendResult:
        response = await post(
            self._http,
            self._batches_url(),
            label=LABEL,
            time_limit=self._timeout,
            auth=BearerAuth(self._credentials["api_token"]),
            headers={"Accept": "application/json"},
            json=self._body(sms, self._clock()),
        )
        if isinstance(response, Failed):
            return response
        if not response.is_success:
            code = provider_code(read_json(response), "code")
            return failure_for_status(
                LABEL, response.status_code, code, ERROR_CODE_OUTCOMES, STATUS_OUTCOMES
            )
        return created_batch(response)

    def _batches_url(self) -> str:
        plan = quote(self._credentials["service_plan_id"], safe="")
        return f"{self._base_url}/xms/v1/{plan}/batches"

    def _body(self, sms: OutboundSms, now: datetime) -> dict[str, object]:
        body: dict[str, object] = {
            "from": sms.sender,
            # Sinch takes MSISDNs with or without the leading "+"; E.164 as we hold it.
            "to": [sms.to],
            "body": sms.text,
            "client_reference": sms.message_id,
            "delivery_report": "per_recipient",
            "expire_at": expire_at(sms.expires_at, now),
        }
        if self._callback_url:
            body["callback_url"] = self._callback_url
        return body


def expire_at(expires_at: datetime, now: datetime) -> str:
    """ISO 8601 UTC, kept inside Sinch's window (after now, at most 3 days ahead)."""
    moment = max(now + MIN_VALIDITY, min(now + MAX_VALIDITY, expires_at))
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def created_batch(response: httpx.Response) -> SendResult:
    answer = read_json(response)
    batch_id = answer.get("id") if isinstance(answer, Mapping) else None
    if isinstance(batch_id, str) and batch_id:
        return Accepted(batch_id)
    return unreadable_answer(LABEL, response.status_code)
