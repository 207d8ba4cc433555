import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from app.clinics.auth import CurrentClinic
from app.core.deps import ClockDep, SessionDep, SettingsDep
from app.core.pagination import DEFAULT_LIMIT, MAX_LIMIT
from app.events import service
from app.events.models import DeliveryStatus, EventType
from app.events.schemas import (
    DeliveryList,
    DeliveryPublic,
    SecretRotated,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionList,
    SubscriptionPublic,
)

router = APIRouter(tags=["events"])


@router.post(
    "/v1/event-subscriptions",
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "The clinic has the most subscriptions allowed"}},
)
async def create_subscription(
    body: SubscriptionCreate,
    clinic: CurrentClinic,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> SubscriptionCreated:
    """Events are POSTed as JSON `{id, type, created_at, data}`, signed as Standard Webhooks
    specifies, so its libraries verify them with the secret: `webhook-id` (the event's id,
    the same on retries), `webhook-timestamp` (Unix seconds of the attempt) and
    `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, keyed with
    the base64-decoded part of the `whsec_` secret; during a secret rotation, one such
    signature per valid secret, space-separated. Any 2xx is success; network errors, 5xx
    and 429 are retried with back-off for 24 hours, other answers are not."""
    subscription = await service.create_subscription(
        session,
        clinic_id=clinic.id,
        url=body.url,
        event_types=body.event_types,
        description=body.description,
        now=clock.now(),
        allow_private=settings.allows_private_event_urls,
    )
    return SubscriptionCreated(
        **SubscriptionPublic.of(subscription).model_dump(), secret=subscription.secret
    )


@router.get("/v1/event-subscriptions")
async def list_subscriptions(clinic: CurrentClinic, session: SessionDep) -> SubscriptionList:
    subscriptions = await service.list_subscriptions(session, clinic_id=clinic.id)
    return SubscriptionList(data=[SubscriptionPublic.of(s) for s in subscriptions])


@router.get("/v1/event-subscriptions/{subscription_id}")
async def get_subscription(
    subscription_id: uuid.UUID, clinic: CurrentClinic, session: SessionDep
) -> SubscriptionPublic:
    subscription = await service.get_subscription(
        session, clinic_id=clinic.id, subscription_id=subscription_id
    )
    return SubscriptionPublic.of(subscription)


@router.post("/v1/event-subscriptions/{subscription_id}/rotate-secret")
async def rotate_subscription_secret(
    subscription_id: uuid.UUID, clinic: CurrentClinic, session: SessionDep, clock: ClockDep
) -> SecretRotated:
    """A new secret, shown once, signs every delivery from now on. The one it replaces
    stays valid for 24 hours: until `previous_secret_expires_at` each delivery carries both
    signatures, space-separated in `webhook-signature`. Rotating again within those hours
    ends the older secret at once."""
    secret, previous_expires_at = await service.rotate_secret(
        session, clinic_id=clinic.id, subscription_id=subscription_id, now=clock.now()
    )
    return SecretRotated(secret=secret, previous_secret_expires_at=previous_expires_at)


@router.delete("/v1/event-subscriptions/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_subscription(
    subscription_id: uuid.UUID, clinic: CurrentClinic, session: SessionDep
) -> None:
    """Stops the events; pending deliveries and the delivery log go with it."""
    await service.delete_subscription(session, clinic_id=clinic.id, subscription_id=subscription_id)


@router.get("/v1/event-deliveries")
async def list_deliveries(
    clinic: CurrentClinic,
    session: SessionDep,
    subscription_id: uuid.UUID | None = None,
    event_type: EventType | None = None,
    status: DeliveryStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> DeliveryList:
    """Events sent (or being sent) to the practice system, newest first, with every attempt."""
    filters = service.DeliveryFilters(
        subscription_id=subscription_id, event_type=event_type, status=status
    )
    deliveries, next_cursor = await service.list_deliveries(
        session, clinic_id=clinic.id, filters=filters, limit=limit, cursor=cursor
    )
    return DeliveryList(
        data=[DeliveryPublic.of(delivery, attempts) for delivery, attempts in deliveries],
        next_cursor=next_cursor,
    )
