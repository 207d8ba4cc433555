"""Imports every table model so `SQLModel.metadata` is complete (Alembic, tests)."""

from app.appointments.models import Appointment, AppointmentReminder, MessageAppointment
from app.caps.models import CapNotice
from app.clinic_settings.models import ClinicSettings
from app.clinics.models import ApiKey, Clinic
from app.core.models import metadata
from app.deliveries.models import StoredDeliveryReport
from app.events.models import EventDelivery, EventDeliveryAttempt, EventSubscription
from app.failover.models import ProviderCircuit
from app.idempotency.models import IdempotencyRecord
from app.messages.models import Message, MessageSearch
from app.optouts.models import NumberOptOut
from app.patients.models import Patient
from app.recalls.models import Recall
from app.reminder_rules.models import ReminderRules
from app.replies.models import Reply
from app.templates.models import MessageTemplate
from app.worker.models import WorkerStatus

# Indexes that only migrations know: PostgreSQL-only indexes (0026: the message search's
# trigram index by clinic), which the models cannot declare for one dialect alone.
MIGRATION_ONLY_INDEXES = frozenset({"ix_message_search_document"})


def include_in_comparison(
    _object: object, name: str | None, type_: str, _reflected: bool, _compare_to: object
) -> bool:
    """For Alembic's model/database comparison: leave out the migration-only indexes."""
    return not (type_ == "index" and name in MIGRATION_ONLY_INDEXES)


__all__ = [
    "ApiKey",
    "CapNotice",
    "Appointment",
    "AppointmentReminder",
    "Clinic",
    "ClinicSettings",
    "EventDelivery",
    "EventDeliveryAttempt",
    "EventSubscription",
    "IdempotencyRecord",
    "Message",
    "MessageAppointment",
    "MessageSearch",
    "MessageTemplate",
    "NumberOptOut",
    "Patient",
    "ProviderCircuit",
    "Recall",
    "ReminderRules",
    "Reply",
    "StoredDeliveryReport",
    "WorkerStatus",
    "include_in_comparison",
    "metadata",
]
