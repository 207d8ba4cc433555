from fastapi import APIRouter

from app.clinics.auth import CurrentClinic
from app.core.deps import ClockDep, SessionDep
from app.core.errors import Problem
from app.sandbox import service
from app.sandbox.schemas import SimulatedReply, SimulatedReplyResult

router = APIRouter(prefix="/v1/sandbox", tags=["sandbox"])


@router.post(
    "/replies",
    operation_id="simulateSandboxReply",
    summary="Simulate a patient's reply (sandbox clinics)",
    responses={
        401: {"model": Problem, "description": "Missing, wrong or revoked API key"},
        404: {"model": Problem, "description": "The clinic's provider is not the sandbox"},
        422: {"model": Problem, "description": "A bad number, an empty text or a NUL"},
    },
)
async def simulate_reply(
    body: SimulatedReply, clinic: CurrentClinic, session: SessionDep, clock: ClockDep
) -> SimulatedReplyResult:
    """An SMS from `from` to the clinic, taken exactly as one from a provider: stored,
    matched to the patient and the message it answers, its keyword applied (`JA`/`NEI`
    confirm or cancel an appointment, `STOPP`/`START` opt out and in) and announced as
    `reply.received`."""
    reply = await service.simulate_reply(session, clinic_id=clinic.id, body=body, now=clock.now())
    return SimulatedReplyResult(stored=reply is not None, reply_id=reply.id if reply else None)
