"""A provider's circuit, as pure functions: what a batch's results say about the
provider's health, and the state that follows.

Only failures that prove the provider took nothing (a refused connection, a 429, a
refusal before acceptance: `RETRYABLE` from the provider itself) count against it, and
only an accepted message proves it well again. Unknown outcomes and permanent refusals
say nothing either way. After `failure_threshold` such failures in a row the circuit
opens; once `probe_after` has passed it is half-open, and one message probes the provider.
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from app.providers.base import (
    EXPIRED_CODE,
    NOT_TRIED_CODE,
    OUT_OF_TIME_CODE,
    PAUSED_CODE,
    Accepted,
    Failed,
    FailureKind,
    SendResult,
)

# Failures we make ourselves, before or instead of asking the provider: they say nothing
# about its health and never move a message to another provider.
OUR_OWN_CODES = frozenset({EXPIRED_CODE, NOT_TRIED_CODE, OUT_OF_TIME_CODE, PAUSED_CODE})


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class CircuitPolicy:
    failure_threshold: int = 5
    probe_after: timedelta = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class Circuit:
    consecutive_failures: int = 0
    open_until: datetime | None = None
    opened_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class BatchHealth:
    """What one batch's results say: whether any message was accepted, the failures that
    proved nothing was taken since the last acceptance, and the last error."""

    succeeded: bool
    trailing_failures: int
    last_error: str | None

    @property
    def clean(self) -> bool:
        """All went well: it can only close a circuit, never open one."""
        return self.succeeded and self.last_error is None


def proves_not_taken(result: SendResult) -> bool:
    """The provider said, or the connection showed, that it took nothing: the message may
    go through another provider without breaking at most once."""
    return (
        isinstance(result, Failed)
        and result.kind is FailureKind.RETRYABLE
        and result.code not in OUR_OWN_CODES
    )


def state_at(open_until: datetime | None, now: datetime) -> CircuitState:
    if open_until is None:
        return CircuitState.CLOSED
    return CircuitState.OPEN if now < open_until else CircuitState.HALF_OPEN


def health_of(results: Sequence[SendResult]) -> BatchHealth | None:
    """None when the provider was not asked about any of them (all held back by us)."""
    succeeded, trailing, last_error, asked = False, 0, None, False
    for result in results:
        if isinstance(result, Accepted):
            succeeded, trailing, asked = True, 0, True
        elif result.code not in OUR_OWN_CODES:
            asked, last_error = True, result.reason
            if proves_not_taken(result):
                trailing += 1
    return BatchHealth(succeeded, trailing, last_error) if asked else None


def after_batch(
    circuit: Circuit, health: BatchHealth, policy: CircuitPolicy, now: datetime
) -> Circuit:
    failures = health.trailing_failures + (0 if health.succeeded else circuit.consecutive_failures)
    changed = replace(
        circuit,
        consecutive_failures=failures,
        last_error=health.last_error or circuit.last_error,
        last_error_at=now if health.last_error else circuit.last_error_at,
    )
    if failures >= policy.failure_threshold:
        still_open = circuit.open_until is not None and circuit.open_until > now
        return replace(
            changed,
            # A probe that failed was claimed by moving `open_until` on: it stays.
            open_until=circuit.open_until if still_open else now + policy.probe_after,
            opened_at=circuit.opened_at if circuit.open_until is not None else now,
        )
    if health.succeeded:
        return replace(changed, open_until=None, opened_at=None)
    return changed
