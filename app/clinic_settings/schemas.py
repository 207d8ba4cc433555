from datetime import time
from decimal import Decimal
from enum import StrEnum
from typing import Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from app.clinic_settings.credentials import ProviderCredentials
from app.clinic_settings.fields import (
    CountryCode,
    LocalTime,
    ReplyAddress,
    ReplyKeyword,
    SenderName,
    TimeZoneName,
)
from app.clinic_settings.webhook_setup import SETUPS
from app.core.phones import (
    InvalidPhoneNumber,
    parse_phone_number,
)


class ProviderName(StrEnum):
    SANDBOX = "sandbox"
    LINKMOBILITY = "linkmobility"
    SINCH = "sinch"
    TWILIO = "twilio"


class ReminderPolicy(StrEnum):
    ALL_VALID_MOBILE = "all_valid_mobile"
    OPTED_IN_ONLY = "opted_in_only"
    NONE = "none"


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PauseRules(StrictModel):
    saturday: bool = True
    sunday: bool = True
    night_start: LocalTime | None = Field(
        default=time(21, 0), description="Local time; null = none"
    )
    night_end: LocalTime | None = Field(default=time(8, 0), description="Local time; null = none")

    @model_validator(mode="after")
    def _night_window_is_whole(self) -> Self:
        if (self.night_start is None) != (self.night_end is None):
            raise ValueError("night_start and night_end are set together or both null")
        if self.night_start is not None and self.night_start == self.night_end:
            raise ValueError("night_start and night_end must differ")
        return self


class SettingsFields(StrictModel):
    sms_enabled: bool = True
    provider: ProviderName = ProviderName.SANDBOX
    secondary_provider: ProviderName | None = Field(
        default=None,
        description="Takes a message when the provider provably did not (connection "
        "refused, 429, a refusal before acceptance) or while its circuit is open; never "
        "after an unknown outcome. Needs its own complete credentials; null: no failover",
    )
    sender_name: SenderName | None = Field(
        default=None, description="Sender shown on no-reply SMS: 2-11 letters and digits"
    )
    reply_number: ReplyAddress | None = Field(
        default=None,
        description="Sender of reply-able SMS: an E.164 number, or a short number "
        "(3-6 digits; LINK's `NO-2333` is stored as `2333`) whose keyword route forwards "
        "replies to the inbound URL",
    )
    country: CountryCode = "NO"
    business_phone: str | None = Field(default=None, description="[Businessphone]")
    time_zone: TimeZoneName = "Europe/Oslo"
    pause_rules: PauseRules = PauseRules()
    reminder_policy: ReminderPolicy = ReminderPolicy.ALL_VALID_MOBILE
    include_guardians: bool = False
    price_per_segment: Decimal = Field(default=Decimal("0"), ge=0, max_digits=10, decimal_places=4)
    currency: str = Field(default="NOK", pattern=r"^[A-Z]{3}$")
    max_segments: int = Field(default=6, ge=1, le=20)
    smart_encoding: bool = Field(
        default=True,
        description="Replace look-alike characters that alone force UCS-2 (’ ‘ “ ” – — … and "
        "the no-break space) with GSM-7 ones (' \" - ... and space) before counting and "
        "sending, unless that would take more segments",
    )
    reply_window_hours: int = Field(default=72, ge=1, le=720)
    retention_days: int = Field(
        default=365,
        ge=30,
        le=3650,
        description="Message and reply texts and provider details older than this are purged",
    )
    confirm_keyword: ReplyKeyword = Field(
        default="JA",
        description="A reply to a reminder or booking confirmation starting with this word "
        "confirms the appointment (case-insensitive; stored in capitals)",
    )
    cancel_keyword: ReplyKeyword = Field(
        default="NEI", description="Likewise, asks to cancel the appointment"
    )
    rate_limit_per_minute: int | None = Field(
        default=None,
        ge=10,
        le=6000,
        description="Requests a minute per API key (past it: 429 with Retry-After); "
        "null: the service's default (RATE_LIMIT_PER_MINUTE)",
    )
    recall_daily_cap: int | None = Field(
        default=None,
        ge=1,
        le=100_000,
        description="Recalls a day at most; more wait for the next allowed days, the "
        "earliest due first. Null: no cap",
    )
    monthly_spend_cap: Decimal | None = Field(
        default=None,
        gt=0,
        max_digits=12,
        decimal_places=2,
        description="Spend a calendar month at most (the clinic's time zone), in `currency`: "
        "a message that would take the month's cost of sent messages past it is not sent "
        "(skipped, `cap_reached`). Null: no cap",
    )
    max_per_patient_per_day: int | None = Field(
        default=3,
        ge=1,
        le=50,
        description="Messages a day at most to one patient's number (the patient's own, or "
        "each guardian's; a bare number counts alone), by the clinic's calendar; more are "
        "skipped (`cap_reached`). Null: no cap",
    )
    cap_exempts_service: bool = Field(
        default=True,
        description="Reminders and booking and cancellation confirmations go whatever the "
        "caps (their cost and count still add up); marketing, offers and every other "
        "message never are exempt",
    )

    @field_validator("secondary_provider")
    @classmethod
    def _another_real_provider(
        cls, value: ProviderName | None, info: ValidationInfo
    ) -> ProviderName | None:
        if value is ProviderName.SANDBOX:
            raise ValueError("the sandbox sends nothing, so it cannot take over")
        if value is not None and value == info.data.get("provider"):
            raise ValueError("must differ from provider")
        return value

    @model_validator(mode="after")
    def _keywords_differ(self) -> Self:
        if self.confirm_keyword == self.cancel_keyword:
            raise ValueError("confirm_keyword and cancel_keyword must differ")
        return self

    @field_validator("business_phone")
    @classmethod
    def _business_phone_in_e164(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        try:
            return parse_phone_number(value, info.data.get("country", "NO")).e164
        except InvalidPhoneNumber as exc:
            raise ValueError(str(exc)) from exc


class SettingsWrite(SettingsFields):
    """PUT: the whole settings document; fields left out take their defaults."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "sms_enabled": True,
                    "provider": "linkmobility",
                    "secondary_provider": None,
                    "sender_name": "TannlBerg",
                    "reply_number": "+4790012345",
                    "country": "NO",
                    "business_phone": "+4722334455",
                    "time_zone": "Europe/Oslo",
                    "pause_rules": {
                        "saturday": True,
                        "sunday": True,
                        "night_start": "21:00:00",
                        "night_end": "08:00:00",
                    },
                    "reminder_policy": "all_valid_mobile",
                    "include_guardians": True,
                    "price_per_segment": "0.4500",
                    "currency": "NOK",
                    "max_segments": 3,
                    "smart_encoding": True,
                    "reply_window_hours": 72,
                    "confirm_keyword": "JA",
                    "cancel_keyword": "NEI",
                    "recall_daily_cap": 200,
                    "monthly_spend_cap": "1500.00",
                    "max_per_patient_per_day": 3,
                    "cap_exempts_service": True,
                }
            ]
        }
    )

    provider_credentials: ProviderCredentials | None = None


class SettingsPatch(StrictModel):
    """PATCH: only the fields sent change."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "sender_name": "TannlBerg",
                    "pause_rules": {
                        "saturday": True,
                        "sunday": True,
                        "night_start": "21:00:00",
                        "night_end": "08:00:00",
                    },
                }
            ]
        }
    )

    sms_enabled: bool | None = None
    provider: ProviderName | None = None
    secondary_provider: ProviderName | None = None
    sender_name: str | None = None
    reply_number: str | None = None
    business_phone: str | None = None
    country: str | None = None
    time_zone: str | None = None
    pause_rules: PauseRules | None = None
    reminder_policy: ReminderPolicy | None = None
    include_guardians: bool | None = None
    price_per_segment: Decimal | None = None
    currency: str | None = None
    max_segments: int | None = None
    smart_encoding: bool | None = None
    reply_window_hours: int | None = None
    retention_days: int | None = None
    confirm_keyword: str | None = None
    cancel_keyword: str | None = None
    rate_limit_per_minute: int | None = None
    recall_daily_cap: int | None = None
    monthly_spend_cap: Decimal | None = None
    max_per_patient_per_day: int | None = None
    cap_exempts_service: bool | None = None
    provider_credentials: ProviderCredentials | None = None


class WebhookUrls(BaseModel):
    delivery: str = Field(description="Where the provider posts delivery reports")
    inbound: str = Field(description="Where the provider posts replies (inbound SMS)")


class WebhookSetup(BaseModel):
    formats: list[str] = Field(description="Content types the provider may post in")
    steps: str = Field(description="What to set up at the provider for the webhook URLs")


class SettingsPublic(SettingsFields):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "sms_enabled": True,
                    "provider": "linkmobility",
                    "secondary_provider": "sinch",
                    "sender_name": "TannlBerg",
                    "reply_number": "+4790012345",
                    "country": "NO",
                    "business_phone": "+4722334455",
                    "time_zone": "Europe/Oslo",
                    "pause_rules": {
                        "saturday": True,
                        "sunday": True,
                        "night_start": "21:00:00",
                        "night_end": "08:00:00",
                    },
                    "reminder_policy": "all_valid_mobile",
                    "include_guardians": True,
                    "price_per_segment": "0.4500",
                    "currency": "NOK",
                    "max_segments": 3,
                    "smart_encoding": True,
                    "reply_window_hours": 72,
                    "confirm_keyword": "JA",
                    "cancel_keyword": "NEI",
                    "recall_daily_cap": 200,
                    "monthly_spend_cap": "1500.00",
                    "max_per_patient_per_day": 3,
                    "cap_exempts_service": True,
                    "credentials_set": {
                        "linkmobility": [
                            "username",
                            "password",
                            "platform_id",
                            "platform_partner_id",
                        ],
                        "sinch": ["api_token", "service_plan_id"],
                        "twilio": [],
                    },
                    "webhook_urls": {
                        "delivery": "https://sms.example.no/v1/webhooks/linkmobility/IH99XseDyagFRozpWvKQ6OWmeJIp6MNF/delivery",
                        "inbound": "https://sms.example.no/v1/webhooks/linkmobility/IH99XseDyagFRozpWvKQ6OWmeJIp6MNF/inbound",
                    },
                    "webhook_setup": {
                        "formats": list(SETUPS["linkmobility"].formats),
                        "steps": SETUPS["linkmobility"].steps,
                    },
                    "secondary_webhook_urls": {
                        "delivery": "https://sms.example.no/v1/webhooks/sinch/IH99XseDyagFRozpWvKQ6OWmeJIp6MNF/delivery",
                        "inbound": "https://sms.example.no/v1/webhooks/sinch/IH99XseDyagFRozpWvKQ6OWmeJIp6MNF/inbound",
                    },
                }
            ]
        },
        extra="ignore",
    )

    credentials_set: dict[ProviderName, list[str]] = Field(
        description="Per provider, which credential fields hold a value (values are never shown)"
    )
    webhook_urls: WebhookUrls | None = Field(
        description=(
            "Where this clinic's provider posts to us; null for the sandbox, which reports "
            "delivery itself and takes simulated replies at POST /v1/sandbox/replies"
        )
    )
    webhook_setup: WebhookSetup | None = Field(
        description="How to point the provider at `webhook_urls`, and the formats it may "
        "post in (a LINK gate: JSON, XML or form data); null for the sandbox"
    )
    secondary_webhook_urls: WebhookUrls | None = Field(
        default=None,
        description="Where the secondary provider posts to us (its reports are applied to "
        "the messages it took); null without a secondary",
    )
