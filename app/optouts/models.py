import uuid
from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.models import UTCDateTime, new_id, table_of


class NumberOptOut(SQLModel, table=True):
    """A number that answered STOPP: no marketing or offers go to it, patient's or bare,
    until it answers START."""

    __tablename__ = "number_opt_out"
    __table_args__ = (UniqueConstraint("clinic_id", "number"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    clinic_id: uuid.UUID = Field(foreign_key="clinic.id", ondelete="CASCADE")
    number: str = Field(max_length=16)
    opted_out_at: datetime = Field(sa_type=UTCDateTime)


number_opt_out_table = table_of(NumberOptOut)
