import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from app.clinics.auth import CurrentClinic
from app.core.deps import SessionDep
from app.core.pagination import DEFAULT_LIMIT, MAX_LIMIT
from app.replies import service
from app.replies.keywords import Keyword
from app.replies.schemas import ReplyList, ReplyPatch, ReplyPublic

router = APIRouter(prefix="/v1/replies", tags=["replies"])


@router.get("")
async def list_replies(
    clinic: CurrentClinic,
    session: SessionDep,
    read: bool | None = None,
    follow_up: bool | None = None,
    patient_no: str | None = None,
    number: Annotated[
        str | None, Query(description="The sender's number, national or E.164")
    ] = None,
    keyword: Keyword | None = None,
    received_from: datetime | None = None,
    received_to: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> ReplyList:
    """Received SMS, newest first."""
    filters = service.ReplyFilters(
        read=read,
        follow_up=follow_up,
        patient_no=patient_no,
        number=number,
        keyword=keyword,
        received_from=received_from,
        received_to=received_to,
    )
    replies, next_cursor = await service.list_replies(
        session, clinic_id=clinic.id, filters=filters, limit=limit, cursor=cursor
    )
    return ReplyList(data=[ReplyPublic.of(reply) for reply in replies], next_cursor=next_cursor)


@router.get("/{reply_id}")
async def get_reply(reply_id: uuid.UUID, clinic: CurrentClinic, session: SessionDep) -> ReplyPublic:
    reply = await service.get_reply(session, clinic_id=clinic.id, reply_id=reply_id)
    return ReplyPublic.of(reply)


@router.patch("/{reply_id}")
async def update_reply(
    reply_id: uuid.UUID, body: ReplyPatch, clinic: CurrentClinic, session: SessionDep
) -> ReplyPublic:
    """Set the `read` and `follow_up` flags."""
    reply = await service.update_reply(session, clinic_id=clinic.id, reply_id=reply_id, patch=body)
    return ReplyPublic.of(reply)
