"""A long message's delivery from its per-part reports (LINK sends one per part).

Delivered once every part is; undelivered as soon as one part fails for good; unknown when
every part is final and some ended unknown; accepted while parts are still on their way.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from app.messages.models import DeliveryState

_FINAL = frozenset({DeliveryState.DELIVERED, DeliveryState.UNDELIVERED, DeliveryState.UNKNOWN})


@dataclass(frozen=True, slots=True)
class PartReport:
    part: int | None  # None: the report is about the whole message
    state: DeliveryState
    occurred_at: datetime
    detail: str | None = None


def _latest(reports: Sequence[PartReport]) -> PartReport:
    return max(reports, key=lambda report: report.occurred_at)


def _final_state_per_part(reports: Sequence[PartReport]) -> dict[int, DeliveryState]:
    """Delivered beats unknown for the same part: a late receipt settles an unknown."""
    states: dict[int, DeliveryState] = {}
    for report in reports:
        if report.part is None or report.state not in _FINAL:
            continue
        if states.get(report.part) is not DeliveryState.DELIVERED:
            states[report.part] = report.state
    return states


def message_delivery(reports: Sequence[PartReport], segments: int) -> PartReport | None:
    """The whole message's delivery, from every report stored for it so far."""
    if not reports:
        return None
    failed = [report for report in reports if report.state is DeliveryState.UNDELIVERED]
    if failed:
        return min(failed, key=lambda report: report.occurred_at)
    parts = _final_state_per_part(reports)
    expected = max(segments, 1, *(part + 1 for part in parts))
    whole = {report.state for report in reports if report.part is None}
    delivered_parts = sum(1 for state in parts.values() if state is DeliveryState.DELIVERED)
    if DeliveryState.DELIVERED in whole or delivered_parts >= expected:
        delivered = [r for r in reports if r.state is DeliveryState.DELIVERED]
        return PartReport(None, DeliveryState.DELIVERED, _latest(delivered).occurred_at)
    every_part_final = len(parts) >= expected
    if DeliveryState.UNKNOWN in whole or (every_part_final and parts):
        unknown = [r for r in reports if r.state is DeliveryState.UNKNOWN]
        latest = _latest(unknown)
        return PartReport(None, DeliveryState.UNKNOWN, latest.occurred_at, latest.detail)
    return PartReport(None, DeliveryState.ACCEPTED, _latest(reports).occurred_at)
