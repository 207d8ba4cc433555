"""Imports every table model so `SQLModel.metadata` is complete (Alembic, tests)."""

from app.appointments.models import Appointment, AppointmentReminder
from app.clinic_settings.models import ClinicSettings
from app.clinics.models import ApiKey, Clinic
from app.core.models import metadata
from app.deliveries.models import StoredDeliveryReport
from app.events.models import EventDelivery, EventDeliveryAttempt, EventSubscription
from app.idempotency.models import IdempotencyRecord
from app.messages.models import Message
from app.patients.models import Patient
from app.recalls.models import Recall
from app.reminder_rules.models import ReminderRules
from app.replies.models import Reply
from app.templates.models import MessageTemplate
from app.worker.models import WorkerStatus

__all__ = [
    "ApiKey",
    "Appointment",
    "AppointmentReminder",
    "Clinic",
    "ClinicSettings",
    "EventDelivery",
    "EventDeliveryAttempt",
    "EventSubscription",
    "IdempotencyRecord",
    "Message",
    "MessageTemplate",
    "Patient",
    "Recall",
    "ReminderRules",
    "Reply",
    "StoredDeliveryReport",
    "WorkerStatus",
    "metadata",
]
