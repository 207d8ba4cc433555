"""Batch upserts: many items in one request, one outcome each, in order.

Each item is validated on its own, so one bad item is refused with the fields it got wrong
while the others are saved; the request as a whole is refused only when it cannot be read
or holds more than `MAX_BATCH_ITEMS`.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.core.errors import FieldError

MAX_BATCH_ITEMS = 1000

Item = TypeVar("Item", bound=BaseModel)


class BatchOutcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    ERROR = "error"


class ItemResult(BaseModel):
    index: int = Field(description="The item's place in the request, from 0")
    id: str | None = Field(description="The item's id (appointment id or patient number)")
    outcome: BatchOutcome
    errors: list[FieldError] = Field(
        default=[], description="With `error`: each field of the item that was refused, and why"
    )


class BatchResult(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "created": 1,
                    "updated": 0,
                    "unchanged": 1,
                    "failed": 1,
                    "results": [
                        {"index": 0, "id": "A-2026-1203-0915", "outcome": "created", "errors": []},
                        {
                            "index": 1,
                            "id": "A-2026-1203-1000",
                            "outcome": "unchanged",
                            "errors": [],
                        },
                        {
                            "index": 2,
                            "id": "A-2026-1203-1030",
                            "outcome": "error",
                            "errors": [
                                {
                                    "field": "appointments.2.patient_no",
                                    "reason": "no patient with this number: push the patient first",
                                    "code": "unknown",
                                }
                            ],
                        },
                    ],
                }
            ]
        }
    )

    created: int
    updated: int
    unchanged: int
    failed: int
    results: list[ItemResult] = Field(description="One per item, in the request's order")

    @classmethod
    def of(cls, results: Sequence[ItemResult]) -> "BatchResult":
        counts = dict.fromkeys(BatchOutcome, 0)
        for result in results:
            counts[result.outcome] += 1
        return cls(
            created=counts[BatchOutcome.CREATED],
            updated=counts[BatchOutcome.UPDATED],
            unchanged=counts[BatchOutcome.UNCHANGED],
            failed=counts[BatchOutcome.ERROR],
            results=list(results),
        )


def item_schema(model: type[BaseModel], *, description: str) -> dict[str, Any]:
    """The JSON schema of a batch's item list: items are read one by one (a bad one is that
    item's error), so the body accepts any objects while the contract shows the item."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
    schema.pop("title", None)
    return {
        "type": "array",
        "items": schema,
        "minItems": 1,
        "maxItems": MAX_BATCH_ITEMS,
        "description": description,
    }


def field_errors(prefix: str, exc: ValidationError) -> list[FieldError]:
    """A validation failure of one item, with field paths from the body's root."""
    errors = []
    for error in exc.errors():
        reason = "unknown field" if error["type"] == "extra_forbidden" else error["msg"]
        path = ".".join([prefix, *(str(part) for part in error["loc"])])
        errors.append(FieldError(field=path, reason=reason, code=error["type"]))
    return errors


@dataclass
class Parsed(Generic[Item]):
    """A batch's items read one by one: the refused ones' results, and the readable ones
    with their place in the body and id."""

    key: str
    results: list[ItemResult | None]
    valid: list[tuple[int, str, Item]]

    def answer(self, outcomes: Sequence[BatchOutcome | Sequence[FieldError]]) -> BatchResult:
        """The result, with `outcomes` in the order of `valid` (errors relative to the item)."""
        results = list(self.results)
        for (index, item_id, _), outcome in zip(self.valid, outcomes, strict=True):
            if isinstance(outcome, BatchOutcome):
                results[index] = ItemResult(index=index, id=item_id, outcome=outcome)
                continue
            errors = [
                FieldError(
                    field=f"{self.key}.{index}.{error.field}", reason=error.reason, code=error.code
                )
                for error in outcome
            ]
            results[index] = error_result(index, item_id, errors)
        return BatchResult.of([result for result in results if result is not None])


def parse_items(model: type[Item], raw: Sequence[Any], key: str, id_field: str) -> Parsed[Item]:
    parsed: Parsed[Item] = Parsed(key, [], [])
    for index, item in enumerate(raw):
        raw_id = item.get(id_field) if isinstance(item, dict) else None
        item_id = raw_id if isinstance(raw_id, str) else None
        try:
            valid = model.model_validate(item)
        except ValidationError as exc:
            parsed.results.append(error_result(index, item_id, field_errors(f"{key}.{index}", exc)))
            continue
        parsed.results.append(None)
        parsed.valid.append((index, getattr(valid, id_field), valid))
    return parsed


def error_result(index: int, item_id: str | None, errors: list[FieldError]) -> ItemResult:
    return ItemResult(index=index, id=item_id, outcome=BatchOutcome.ERROR, errors=errors)
