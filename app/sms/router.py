from fastapi import APIRouter

from app.clinics.auth import CurrentClinic
from app.core.deps import SessionDep
from app.sms import service
from app.sms.schemas import AnalyzeRequest, TextAnalysisPublic

router = APIRouter(prefix="/v1/sms", tags=["sms"])


@router.post("/analyze")
async def analyze_text(
    body: AnalyzeRequest, clinic: CurrentClinic, session: SessionDep
) -> TextAnalysisPublic:
    """The text as it will be sent (after the clinic's smart encoding), with its encoding,
    length, segments and cost, before and after. Over the clinic's `max_segments`, or with
    characters its provider cannot carry (`warnings`), is still 200 here; sending such a
    text is a 422."""
    return await service.analyze_text(session, clinic_id=clinic.id, text=body.text)
