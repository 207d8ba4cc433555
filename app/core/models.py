"""Shared column types and model helpers for every domain's tables."""

import os
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import DateTime, Dialect, MetaData, Table, inspect
from sqlalchemy.orm import configure_mappers
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata
_ResultProcessor = Callable[[Any], Any]
Model = TypeVar("Model", bound=SQLModel)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC; SQLite keeps no offset, so it is added back on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def result_processor(self, dialect: Dialect, coltype: object) -> _ResultProcessor | None:
        # asyncpg reads timestamptz as aware UTC datetimes: no call for each value read.
        if dialect.driver == "asyncpg":
            return None
        return super().result_processor(dialect, coltype)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)


_ID_BYTES = 16
_IDS_A_READ = 256
_random_numbers: list[int] = []
# A child process must not hand out the ids its parent drew before the fork.
os.register_at_fork(after_in_child=_random_numbers.clear)


def random_numbers(count: int) -> list[int]:
    """`count` random 128-bit numbers from one read of the system's randomness (what
    `uuid.uuid4()` reads 16 bytes at a time, a system call each)."""
    randomness = os.urandom(_ID_BYTES * count)
    return [
        int.from_bytes(randomness[at : at + _ID_BYTES], "big")
        for at in range(0, len(randomness), _ID_BYTES)
    ]


def new_id() -> uuid.UUID:
    """A random (version 4) id, as random as `uuid.uuid4()`'s, drawn from a stock that is
    refilled by one read for many ids: a batch makes thousands."""
    while True:
        try:
            return uuid.UUID(int=_random_numbers.pop(), version=4)
        except IndexError:  # list.pop is atomic: threads at most both refill
            _random_numbers.extend(random_numbers(_IDS_A_READ))


def table_of(model: type[SQLModel]) -> Table:
    """The Core table behind a table model, for bulk statements."""
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


_configured: set[type[SQLModel]] = set()


def as_loaded(model: type[Model], row: Mapping[str, Any]) -> Model:
    """A table model holding a row inserted with Core, as a query would load it: no
    validation and no change tracking, which make building thousands of them slow. It is
    in no session, so a change to it is not saved.

    The mappers are configured on a model's first use here: a process whose first use of
    a model is this one (an API key's clinic on the first request) would otherwise get an
    instance whose attributes cannot be read."""
    if model not in _configured:
        configure_mappers()
        _configured.add(model)
    instance: Model = inspect(model).class_manager.new_instance()
    instance.__dict__.update(row)
    return instance
