"""Secrets at rest: provider credentials and event-subscription secrets are stored as
Fernet tokens, never in the clear.

`SECRETS_KEYS` holds one or more Fernet keys, comma-separated. The first encrypts; every
one decrypts, so a key is rotated by putting the new one first, running
`python -m app.cli rotate-secrets`, and then dropping the old one.
"""

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr
from sqlalchemy import Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from app.core.config import get_settings


class SecretsNotConfigured(RuntimeError):
    pass


_box: MultiFernet | None = None


def parse_keys(keys: SecretStr) -> MultiFernet:
    """Settings have checked each key already."""
    parts = [part.strip() for part in keys.get_secret_value().split(",") if part.strip()]
    return MultiFernet([Fernet(part) for part in parts])


def configure(keys: SecretStr | None) -> None:
    """Use these keys from now on (the app and the worker call this with their settings)."""
    global _box
    _box = None if keys is None else parse_keys(keys)


def _keys() -> MultiFernet:
    global _box
    if _box is None:
        keys = get_settings().secrets_keys
        if keys is None:
            raise SecretsNotConfigured(
                "SECRETS_KEYS is not set: secrets cannot be stored or read "
                "(`make run` creates a local key; see .env.example)"
            )
        _box = parse_keys(keys)
    return _box


def seal(plain: str) -> str:
    return _keys().encrypt(plain.encode()).decode()


def unseal(token: str) -> str:
    try:
        return _keys().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretsNotConfigured(
            "a stored secret does not open with any SECRETS_KEYS key"
        ) from exc


def reseal(token: str) -> str:
    """The same secret under the first key (after a rotation)."""
    return _keys().rotate(token.encode()).decode()


class SealedText(TypeDecorator[str]):
    """A string stored as a Fernet token."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else seal(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else unseal(value)


class SealedJSON(TypeDecorator[dict[str, Any]]):
    """A JSON object stored as one Fernet token."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: dict[str, Any] | None, dialect: Dialect) -> str | None:
        return None if value is None else seal(json.dumps(value, separators=(",", ":")))

    def process_result_value(self, value: str | None, dialect: Dialect) -> dict[str, Any] | None:
        if value is None:
            return None
        opened: dict[str, Any] = json.loads(unseal(value))
        return opened
