"""What a clinic sets up at its provider so reports and replies reach us: shown with the
webhook URLs in the settings."""

from collections.abc import Mapping
from dataclasses import dataclass

JSON = "application/json"
XML = "application/xml"
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True, slots=True)
class ProviderSetup:
    formats: tuple[str, ...]
    steps: str


SETUPS: Mapping[str, ProviderSetup] = {
    "linkmobility": ProviderSetup(
        formats=(JSON, XML, FORM),
        steps=(
            "Ask LINK Support for a gate whose destination is the delivery URL, and set its "
            "id as provider_credentials.linkmobility.gate_id. Route replies to the reply "
            "number (a phone number, or a short number with a keyword: the keyword left in "
            "the text is read past) to a gate whose destination is the inbound URL. Either "
            "gate may post JSON, XML or form data (contentType application/json, "
            "application/xml or application/x-www-form-urlencoded); we answer 200, and a "
            "gate retries anything else for its ttl (48 h by default)."
        ),
    ),
    "sinch": ProviderSetup(
        formats=(JSON,),
        steps=(
            "Each batch names the delivery URL as its callback_url. Set the inbound URL as "
            "the service plan's callback URL for inbound messages to the reply number. If "
            "your account manager turns on HMAC-signed callbacks, set the secret as "
            "provider_credentials.sinch.callback_secret: unsigned callbacks are then refused "
            "(401)."
        ),
    ),
    "twilio": ProviderSetup(
        formats=(FORM,),
        steps=(
            "Each message names the delivery URL as its StatusCallback. Set the inbound URL "
            "as the reply number's webhook for incoming messages (HTTP POST). Callbacks are "
            "checked against the auth token's signature, or, where a Webhook Rule signs "
            "with a SharedKey, against provider_credentials.twilio.webhook_shared_key."
        ),
    ),
}
