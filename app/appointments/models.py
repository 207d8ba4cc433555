import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKeyConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.models import UTCDateTime, new_id, table_of, utc_now


class AppointmentStatus(StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    NO_SHOW = "no_show"


class Confirmation(StrEnum):
    """The patient's answer to a reminder (JA/NEI)."""

    CONFIRMED = "confirmed"
    CANCELLATION_REQUESTED = "cancellation_requested"


class Appointment(SQLModel, table=True):
    """An appointment pushed by the practice system, keyed by its own id."""

    __tablename__ = "appointment"
    __table_args__ = (
        UniqueConstraint("clinic_id", "appointment_id"),
        Index("ix_appointment_clinic_start", "clinic_id", "start_at"),
        Index("ix_appointment_patient", "patient_id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    clinic_id: uuid.UUID = Field(foreign_key="clinic.id", ondelete="CASCADE")
    appointment_id: str = Field(max_length=100)
    # Erasing a patient erases their appointments (and with them the reminder decisions).
    patient_id: uuid.UUID = Field(foreign_key="patient.id", ondelete="CASCADE")
    practitioner: str = Field(max_length=100)
    start_at: datetime = Field(sa_type=UTCDateTime)
    end_at: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(default=AppointmentStatus.BOOKED, max_length=12)
    # The appointment book's "SMS-påminnelse" tick: off, no automatic reminders.
    sms_reminders: bool = True
    confirmation: str | None = Field(default=None, max_length=24)
    confirmation_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    rescheduled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)


class DecisionOutcome(StrEnum):
    QUEUED = "queued"
    SKIPPED = "skipped"
    # Its message was cancelled by a push (the appointment was cancelled, moved, or went
    # back to booked) and not made again: a later push may make it anew.
    WITHDRAWN = "withdrawn"


class AppointmentReminder(SQLModel, table=True):
    """What was decided for one kind of message (reminder 1, thank-you …) of an appointment.

    One row per (appointment, kind), for the start time it was decided for: messages carry
    their own state, but a skip has no message, and a decision must not be taken twice for
    the same start (the same push twice, or a message cancelled by hand).
    """

    __tablename__ = "appointment_reminder"
    __table_args__ = (
        ForeignKeyConstraint(
            ["clinic_id", "appointment_id"],
            ["appointment.clinic_id", "appointment.appointment_id"],
            ondelete="CASCADE",
        ),
        UniqueConstraint("clinic_id", "appointment_id", "kind"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    clinic_id: uuid.UUID
    appointment_id: str = Field(max_length=100)
    kind: str = Field(max_length=30)
    start_at: datetime = Field(sa_type=UTCDateTime)
    outcome: str = Field(max_length=10)
    skip_reason: str | None = Field(default=None, max_length=30)
    decided_at: datetime = Field(sa_type=UTCDateTime)


appointment_table = table_of(Appointment)
appointment_reminder_table = table_of(AppointmentReminder)


class MessageAppointment(SQLModel, table=True):
    """An appointment a shared message is for: one reminder per person per day.

    A message for one appointment has no rows here (its own columns name it). A message
    shared by several appointments on one local day (the patient's own, or a guardian's
    children) has one row per appointment, its first one included; each row keeps what
    that appointment's own message would have had: its start, its patient and its timing.
    The message goes at the earliest of them and expires at the earliest start.
    """

    __tablename__ = "message_appointment"
    __table_args__ = (
        ForeignKeyConstraint(
            ["clinic_id", "appointment_id"],
            ["appointment.clinic_id", "appointment.appointment_id"],
            ondelete="CASCADE",
        ),
        Index("ix_message_appointment_appointment", "clinic_id", "appointment_id"),
    )

    message_id: uuid.UUID = Field(foreign_key="message.id", ondelete="CASCADE", primary_key=True)
    appointment_id: str = Field(max_length=100, primary_key=True)
    clinic_id: uuid.UUID
    patient_id: uuid.UUID = Field(foreign_key="patient.id", ondelete="CASCADE")
    appointment_start_at: datetime = Field(sa_type=UTCDateTime)
    send_after: datetime = Field(sa_type=UTCDateTime)
    send_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)


message_appointment_table = table_of(MessageAppointment)
