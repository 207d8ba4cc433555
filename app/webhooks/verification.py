"""Is a webhook really from the provider? Each provider's own check, keyed with the
clinic's credentials for it. A check that fails raises SignatureRejected (401).

- Twilio signs every webhook: with the auth token (HMAC-SHA1), or with a SharedKey
  (HMAC-SHA256 as a rule; `X-Twilio-Webhooks-Signature-Settings` names key and algorithm).
- Sinch signs when HMAC is set up for the service plan: checked once the clinic enters
  the callback secret. Without one the secret in the URL stays the only check.
- LINK signs nothing: the URL secret is the check (a gate may add Basic auth).

No freshness window on Sinch's timestamp: Sinch retries for almost 23 hours and a 4xx is
never retried, so a stale-looking genuine report would be lost; a replay stores nothing
new (reports and replies are unique by the provider's ids).
"""

import logging
from collections.abc import Callable, Mapping

from app.webhooks import sinch, twilio
from app.webhooks.parsing import SignatureRejected, form_fields
from app.webhooks.request import WebhookRequest

logger = logging.getLogger(__name__)

Credentials = Mapping[str, str]


def verify_twilio(request: WebhookRequest, credentials: Credentials) -> None:
    settings = request.headers.get(twilio.SIGNATURE_SETTINGS_HEADER)
    if settings is None:
        key, algorithm, name = credentials.get("auth_token"), twilio.HMAC_SHA1, "auth token"
    else:
        key, name = credentials.get("webhook_shared_key"), "webhook shared key"
        algorithm = twilio.signing_algorithm(settings)
    if not key:
        raise SignatureRejected(
            f"This clinic has no Twilio {name} configured, so the signature cannot be checked."
        )
    if algorithm not in twilio.ALGORITHMS:
        raise SignatureRejected(f"Twilio signature algorithm {algorithm!r} is not supported.")
    fields = form_fields(request.body)
    given = request.headers.get(twilio.SIGNATURE_HEADER)
    if not twilio.signature_is_valid(request.url, fields, key, given, algorithm):
        logger.warning("Twilio signature rejected", extra={"algorithm": algorithm})
        raise SignatureRejected("X-Twilio-Signature is missing or does not match.")


def verify_sinch(request: WebhookRequest, credentials: Credentials) -> None:
    secret = credentials.get("callback_secret")
    if not secret:
        return
    if not sinch.signature_is_valid(request.body, request.headers, secret):
        logger.warning("Sinch signature rejected")
        raise SignatureRejected(
            "x-sinch-webhook-signature is missing or does not match the callback secret."
        )


VERIFIERS: Mapping[str, Callable[[WebhookRequest, Credentials], None]] = {
    "twilio": verify_twilio,
    "sinch": verify_sinch,
}


def signs(provider: str, credentials: Credentials) -> bool:
    """Whether this provider's webhooks for the clinic carry a signature we check."""
    if provider == "twilio":
        return True
    return provider == "sinch" and bool(credentials.get("callback_secret"))
