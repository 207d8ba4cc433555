"""Imports every table model so `SQLModel.metadata` is complete (Alembic, tests)."""

from app.clinic_settings.models import ClinicSettings
from app.clinics.models import ApiKey, Clinic
from app.core.models import metadata
from app.idempotency.models import IdempotencyRecord
from app.messages.models import Message
from app.patients.models import Patient
from app.templates.models import MessageTemplate
from app.worker.models import WorkerStatus

__all__ = [
    "ApiKey",
    "Clinic",
    "ClinicSettings",
    "IdempotencyRecord",
    "Message",
    "MessageTemplate",
    "Patient",
    "WorkerStatus",
    "metadata",
]
