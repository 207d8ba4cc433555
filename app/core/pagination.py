"""Opaque keyset cursors: stable under inserts, unlike offsets."""

import base64
import json
import uuid
from datetime import datetime
from typing import Any

from app.core.errors import InvalidInput

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_CURSOR_LENGTH = 200


def encode_cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode()


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except ValueError as exc:
        raise InvalidInput.for_field("cursor", "not a cursor from this API", "bad_cursor") from exc
    if not isinstance(values, list) or len(values) != arity:
        raise InvalidInput.for_field("cursor", "not a cursor from this API", "bad_cursor")
    return values


def encode_time_cursor(moment: datetime, row_id: uuid.UUID) -> str:
    return encode_cursor(moment.isoformat(), str(row_id))


def decode_time_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The (time, id) of the last row a newest-first page returned."""
    moment, row_id = decode_cursor(cursor, 2)
    try:
        after = (datetime.fromisoformat(moment), uuid.UUID(row_id))
    except (AttributeError, TypeError, ValueError) as exc:
        raise InvalidInput.for_field("cursor", "not a cursor from this API", "bad_cursor") from exc
    if after[0].tzinfo is None:
        raise InvalidInput.for_field("cursor", "not a cursor from this API", "bad_cursor")
    return after
