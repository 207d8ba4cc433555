import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel

from app.clinics.auth import CurrentClinic
from app.core.deps import ClockDep, SessionDep
from app.core.pagination import DEFAULT_LIMIT, MAX_LIMIT
from app.idempotency.dependencies import OnceDep
from app.messages import bulk, listing, service
from app.messages import dry_run as dry
from app.messages.schemas import (
    BulkMessageCreate,
    BulkResult,
    CreatedMessage,
    MessageCreate,
    MessageList,
    MessagePublic,
    MessagesCreated,
    SkippedRecipient,
)

_UNCARRIABLE = (
    "characters the clinic's provider cannot carry (`unsupported_characters`, e.g. emoji on "
    "LINK; the problem lists them in `characters`, with `provider`)"
)
UNSENDABLE = (
    "Invalid input: the problem's `errors` name each field and why. Among them a text over "
    f"the clinic's `max_segments` (`too_many_segments`, with the figures), and {_UNCARRIABLE}"
)
UNSENDABLE_TO_ALL = (
    "Invalid input: the problem's `errors` name each field and why. Among them "
    f"{_UNCARRIABLE} in the text or a value every patient's message shares; a patient whose "
    "name holds them is skipped instead"
)

router = APIRouter(prefix="/v1/messages", tags=["messages"])

DryRun = Annotated[bool, Query(description=dry.DESCRIPTION)]


def _json(answer: BaseModel, status_code: int) -> Response:
    return Response(answer.model_dump_json(), status_code, media_type="application/json")


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=MessagesCreated,
    responses={
        200: {"model": MessagesCreated, "description": "A dry run: what would be created"},
        409: {
            "description": "SMS is switched off, the appointment is cancelled or has started, "
            "or a request with this Idempotency-Key is still being handled"
        },
        422: {"description": UNSENDABLE},
    },
)
async def create_message(
    body: MessageCreate,
    clinic: CurrentClinic,
    session: SessionDep,
    clock: ClockDep,
    once: OnceDep,
    dry_run: DryRun = False,
) -> Response:
    async def handle() -> MessagesCreated:
        messages, skipped = await service.create_message(
            session, clinic_id=clinic.id, request=body, now=clock.now()
        )
        return MessagesCreated(
            data=[CreatedMessage.of(message) for message in messages],
            skipped=[
                SkippedRecipient(
                    recipient_role=skip.recipient.role,
                    recipient_name=skip.recipient.name,
                    reason=skip.reason,
                )
                for skip in skipped
            ],
        )

    if dry_run:
        preview = dry.created_preview(await handle())
        await dry.discard(session)
        return _json(preview, status.HTTP_200_OK)
    return await once(body, status.HTTP_201_CREATED, handle)


@router.post(
    "/bulk",
    response_model=BulkResult,
    responses={
        409: {
            "description": "SMS is switched off, or a request with this Idempotency-Key is "
            "still being handled"
        },
        422: {"description": UNSENDABLE_TO_ALL},
    },
)
async def create_bulk(
    body: BulkMessageCreate,
    clinic: CurrentClinic,
    session: SessionDep,
    clock: ClockDep,
    once: OnceDep,
    dry_run: DryRun = False,
) -> Response:
    async def handle() -> BulkResult:
        return await bulk.create_bulk(session, clinic_id=clinic.id, request=body, now=clock.now())

    if dry_run:
        preview = await dry.bulk_preview(session, clinic_id=clinic.id, result=await handle())
        await dry.discard(session)
        return _json(preview, status.HTTP_200_OK)
    return await once(body, status.HTTP_200_OK, handle)


@router.get("")
async def list_messages(
    clinic: CurrentClinic,
    session: SessionDep,
    status: Annotated[
        list[listing.StatusFilter] | None,
        Query(
            description="Our word or the seed's code: V (pending, sending), S (sent), "
            "SB (answered), F (failed), A (cancelled); repeat for several"
        ),
    ] = None,
    type: str | None = None,
    patient_no: str | None = None,
    to: Annotated[str | None, Query(description="A phone number, national or E.164")] = None,
    practitioner: str | None = None,
    appointment_id: str | None = None,
    created_from: AwareDatetime | None = None,
    created_to: AwareDatetime | None = None,
    scheduled_from: Annotated[
        AwareDatetime | None, Query(description="Pending ones whose scheduled_for is at or after")
    ] = None,
    scheduled_to: Annotated[AwareDatetime | None, Query(description="… and before")] = None,
    sent_from: Annotated[AwareDatetime | None, Query(description="sent_at at or after")] = None,
    sent_to: Annotated[AwareDatetime | None, Query(description="… and before")] = None,
    q: Annotated[str | None, Query(description="Free text in the text or names")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> MessageList:
    filters = listing.MessageFilters(
        status=listing.statuses_of(status) if status else None,
        type=type,
        patient_no=patient_no,
        to=to,
        practitioner=practitioner,
        appointment_id=appointment_id,
        created_from=created_from,
        created_to=created_to,
        scheduled_from=scheduled_from,
        scheduled_to=scheduled_to,
        sent_from=sent_from,
        sent_to=sent_to,
        q=q,
    )
    messages, next_cursor = await listing.list_messages(
        session, clinic_id=clinic.id, filters=filters, limit=limit, cursor=cursor
    )
    return MessageList(data=[MessagePublic.of(m) for m in messages], next_cursor=next_cursor)


@router.get("/{message_id}")
async def get_message(
    message_id: uuid.UUID, clinic: CurrentClinic, session: SessionDep
) -> MessagePublic:
    message = await service.get_message(session, clinic_id=clinic.id, message_id=message_id)
    return MessagePublic.of(message)


@router.post("/{message_id}/cancel", responses={409: {"description": "Not pending"}})
async def cancel_message(
    message_id: uuid.UUID, clinic: CurrentClinic, session: SessionDep, clock: ClockDep
) -> MessagePublic:
    message = await service.cancel_message(
        session, clinic_id=clinic.id, message_id=message_id, now=clock.now()
    )
    return MessagePublic.of(message)
