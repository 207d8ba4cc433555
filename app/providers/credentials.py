"""Which credentials each real provider's adapter needs before it can send anything."""

from collections.abc import Mapping

from app.providers import linkmobility, sinch, twilio
from app.providers.http import missing_credentials

REQUIRED_CREDENTIALS: Mapping[str, tuple[str, ...]] = {
    "linkmobility": linkmobility.REQUIRED_CREDENTIALS,
    "sinch": sinch.REQUIRED_CREDENTIALS,
    "twilio": twilio.REQUIRED_CREDENTIALS,
}


def missing_for(provider: str, credentials: Mapping[str, Mapping[str, str]]) -> list[str]:
    """The credential fields `provider` still lacks in a clinic's stored credentials."""
    return missing_credentials(
        credentials.get(provider, {}), REQUIRED_CREDENTIALS.get(provider, ())
    )
