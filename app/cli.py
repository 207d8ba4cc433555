"""Operator commands: `python -m app.cli {migrate,demo-clinic,openapi,rotate-secrets}`."""

import argparse
import asyncio
import json
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlmodel import col, select

from app.clinics import service as clinic_service
from app.clinics.models import Clinic
from app.core.config import Settings, get_settings
from app.core.db import create_engine, create_sessionmaker, session_scope
from app.core.resealing import reseal_stored_secrets
from app.main import create_app

DEMO_CLINIC_NAME = "Demo Tannklinikk"
ALEMBIC_INI = Path(__file__).resolve().parent.parent / "alembic.ini"


def alembic_config(database_url: str) -> Config:
    config = Config(str(ALEMBIC_INI))
    config.attributes["database_url"] = database_url
    return config


def migrate(settings: Settings) -> None:
    command.upgrade(alembic_config(settings.database_url), "head")


async def create_demo_clinic(settings: Settings) -> str:
    """Create the demo clinic once and give it a fresh API key; returns the key."""
    engine = create_engine(settings)
    try:
        async for session in session_scope(create_sessionmaker(engine)):
            statement = select(Clinic).where(col(Clinic.name) == DEMO_CLINIC_NAME)
            clinic = (await session.execute(statement)).scalars().first()
            if clinic is None:
                clinic = await clinic_service.create_clinic(session, name=DEMO_CLINIC_NAME)
            _, key = await clinic_service.create_api_key(session, clinic_id=clinic.id, name="demo")
        return key
    finally:
        await engine.dispose()


async def rotate_secrets(settings: Settings) -> int:
    """Seal every stored secret again under the first SECRETS_KEYS key; answers how many.
    Run after putting a new key first, before dropping the old one."""
    engine = create_engine(settings)
    count = 0
    try:
        async for session in session_scope(create_sessionmaker(engine)):
            count = await reseal_stored_secrets(session)
    finally:
        await engine.dispose()
    return count


def openapi_document() -> str:
    return json.dumps(create_app().openapi(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m app.cli")
    commands = ["migrate", "demo-clinic", "openapi", "rotate-secrets"]
    parser.add_argument("command", choices=commands)
    args = parser.parse_args(argv)
    settings = get_settings()
    if args.command == "migrate":
        migrate(settings)
    elif args.command == "demo-clinic":
        key = asyncio.run(create_demo_clinic(settings))
        sys.stdout.write(f"Demo clinic '{DEMO_CLINIC_NAME}' API key (shown once): {key}\n")
    elif args.command == "rotate-secrets":
        count = asyncio.run(rotate_secrets(settings))
        sys.stdout.write(f"{count} stored secret(s) sealed under the first SECRETS_KEYS key\n")
    else:
        sys.stdout.write(openapi_document())


if __name__ == "__main__":
    main()
