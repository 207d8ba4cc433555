import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from app.core.models import UTCDateTime, table_of


class ProviderCircuit(SQLModel, table=True):
    """One clinic's view of one provider's health, shared by every worker.

    Closed while `open_until` is null; open until then; half-open after it, when one worker
    claims the probe by moving `open_until` on (a conditional update only one can win)."""

    __tablename__ = "provider_circuit"

    clinic_id: uuid.UUID = Field(primary_key=True, foreign_key="clinic.id", ondelete="CASCADE")
    provider: str = Field(primary_key=True, max_length=20)
    consecutive_failures: int = 0
    open_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    opened_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=300)
    last_error_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


provider_circuit_table = table_of(ProviderCircuit)
