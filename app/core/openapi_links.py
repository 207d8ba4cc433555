"""The contract's tags and the links from one operation's answer to the next operations."""

from typing import Any

TAGS: list[dict[str, str]] = [
    {"name": "patients", "description": "The practice system's patients, by patient number."},
    {
        "name": "appointments",
        "description": "Appointments pushed by the practice system; their reminders, "
        "confirmations and thank-you messages follow the reminder rules.",
    },
    {
        "name": "recalls",
        "description": "Patients due for recall (`recall_due`) and where each recall stands; "
        "the recall rule says when they go.",
    },
    {"name": "messages", "description": "SMS to patients, their guardians or a bare number."},
    {
        "name": "outbox",
        "description": "What goes out in a period, when (pauses applied) and what it costs.",
    },
    {"name": "replies", "description": "SMS received from patients (JA, NEI, STOPP, free text)."},
    {
        "name": "sandbox",
        "description": "For sandbox clinics only: simulate a patient's reply end to end.",
    },
    {
        "name": "events",
        "description": "Signed event deliveries to the practice system (see `webhooks`).",
    },
    {"name": "templates", "description": "The clinic's message texts, with merge fields."},
    {"name": "reminder rules", "description": "When automatic messages go."},
    {"name": "settings", "description": "The clinic's SMS provider, sender, pause rules."},
    {"name": "sms", "description": "Text analysis: encoding, segments and cost."},
    {"name": "sms-info", "description": "Counters, the provider's last answers, the worker."},
    {"name": "admin", "description": "Clinics and their API keys; the admin token only."},
    {
        "name": "provider webhooks",
        "description": "Called by the SMS providers (delivery reports, inbound SMS), not by "
        "the practice system.",
    },
    {"name": "operations", "description": "Liveness and readiness probes."},
]


def _link(operation_id: str, description: str, **parameters: str) -> dict[str, Any]:
    return {
        "operationId": operation_id,
        "description": description,
        "parameters": {f"path.{name}": value for name, value in parameters.items()},
    }


def _first(name: str) -> str:
    return f"$response.body#/data/0/{name}"


_MESSAGE = {
    "GetMessage": _link("getMessage", "The first message", message_id=_first("id")),
    "CancelMessage": _link("cancelMessage", "Cancel the first message", message_id=_first("id")),
}
_PATIENT = {
    "GetPatient": _link("getPatient", "The patient", patient_no="$request.path.patient_no"),
    "DeletePatient": _link(
        "deletePatient", "Erase the patient", patient_no="$request.path.patient_no"
    ),
}
_APPOINTMENT = {
    "GetAppointment": _link(
        "getAppointment", "The appointment", appointment_id="$request.path.appointment_id"
    ),
    "AddAppointmentReminders": _link(
        "addAppointmentReminders",
        "Add reminders by hand",
        appointment_id="$request.path.appointment_id",
    ),
}
_SUBSCRIPTION = {
    "GetEventSubscription": _link(
        "getEventSubscription", "The subscription", subscription_id="$response.body#/id"
    ),
    "DeleteEventSubscription": _link(
        "deleteEventSubscription", "Delete it", subscription_id="$response.body#/id"
    ),
}

# operationId -> response status -> links from that answer.
LINKS: dict[str, dict[str, dict[str, Any]]] = {
    "createMessage": {"201": _MESSAGE},
    "listMessages": {"200": _MESSAGE},
    "getMessage": {
        "200": {
            "CancelMessage": _link(
                "cancelMessage", "Cancel it", message_id="$request.path.message_id"
            )
        }
    },
    "upsertPatient": {"200": _PATIENT, "201": _PATIENT},
    "listPatients": {
        "200": {
            "GetPatient": _link("getPatient", "The first patient", patient_no=_first("patient_no"))
        }
    },
    "listRecalls": {
        "200": {
            "GetPatient": _link(
                "getPatient", "The first recall's patient", patient_no=_first("patient_no")
            )
        }
    },
    "upsertAppointment": {"200": _APPOINTMENT, "201": _APPOINTMENT},
    "listAppointments": {
        "200": {
            "GetAppointment": _link(
                "getAppointment", "The first appointment", appointment_id=_first("appointment_id")
            )
        }
    },
    "createEventSubscription": {"201": _SUBSCRIPTION},
    "listEventSubscriptions": {
        "200": {
            "GetEventSubscription": _link(
                "getEventSubscription", "The first subscription", subscription_id=_first("id")
            )
        }
    },
    "listReplies": {
        "200": {
            "GetReply": _link("getReply", "The first reply", reply_id=_first("id")),
            "UpdateReply": _link("updateReply", "Mark the first reply", reply_id=_first("id")),
        }
    },
    "listTemplates": {
        "200": {"GetTemplate": _link("getTemplate", "The first template", type=_first("type"))}
    },
    "getTemplate": {
        "200": {
            "UpdateTemplate": _link("updateTemplate", "Change it", type="$request.path.type"),
            "PreviewTemplate": _link("previewTemplate", "Preview it", type="$request.path.type"),
        }
    },
    "createClinic": {
        "201": {
            "CreateApiKey": _link(
                "createApiKey", "A key for the clinic", clinic_id="$response.body#/id"
            )
        }
    },
    "listClinics": {
        "200": {
            "CreateApiKey": _link(
                "createApiKey", "A key for the first clinic", clinic_id=_first("id")
            )
        }
    },
    "createApiKey": {
        "201": {
            "RevokeApiKey": _link(
                "revokeApiKey",
                "Revoke the key",
                clinic_id="$request.path.clinic_id",
                key_id="$response.body#/id",
            )
        }
    },
}
