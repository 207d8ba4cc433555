"""Shared set-up for the benchmarks: a scratch PostgreSQL database, Redis, a clinic."""

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
from alembic import command
from sqlalchemy import insert, text, update
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402
from pydantic import SecretStr  # noqa: E402

from app.cli import alembic_config  # noqa: E402
from app.clinic_settings.models import ClinicSettings  # noqa: E402
from app.clinics import service as clinic_service  # noqa: E402
from app.core.config import Settings  # noqa: E402
from app.core.db import create_engine, create_sessionmaker, session_scope  # noqa: E402
from app.core.secrets import configure as configure_secrets  # noqa: E402
from app.patients.models import Patient  # noqa: E402

DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/bench"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
# Credentials are sealed at rest: one key for the run, inherited by the processes it starts.
os.environ.setdefault("SECRETS_KEYS", Fernet.generate_key().decode())
configure_secrets(SecretStr(os.environ["SECRETS_KEYS"]))


def bench_settings(**overrides: object) -> Settings:
    return Settings(
        database_url=DATABASE_URL,
        redis_url=REDIS_URL,
        admin_token="bench-admin-token",
        rate_limit_per_minute=1_000_000,
        **overrides,  # type: ignore[arg-type]
    )


async def _recreate_database(*, keep: bool) -> None:
    url = make_url(DATABASE_URL)
    server = create_engine(
        Settings(database_url=url.set(database="postgres").render_as_string(False))
    )
    async with server.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        exists = await connection.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
        )
        if not (keep and exists):
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
            await connection.execute(text(f'CREATE DATABASE "{url.database}"'))
    await server.dispose()


def fresh_database(*, keep: bool = False) -> None:
    """A new database at the head revision; `keep` reuses one that exists (and upgrades it)."""
    asyncio.run(_recreate_database(keep=keep))
    command.upgrade(alembic_config(DATABASE_URL), "head")
    redis.Redis.from_url(REDIS_URL).flushdb()


async def create_clinic(patients: int) -> tuple[uuid.UUID, str]:
    """A clinic that never pauses (benchmarks run at any hour), with `patients` patients."""
    engine = create_engine(bench_settings())
    async for session in session_scope(create_sessionmaker(engine)):
        clinic = await clinic_service.create_clinic(session, name="Bench Tannklinikk")
        _, key = await clinic_service.create_api_key(session, clinic_id=clinic.id, name="bench")
        await session.execute(
            update(ClinicSettings)
            .where(ClinicSettings.clinic_id == clinic.id)  # type: ignore[arg-type]
            .values(
                pause_saturday=False,
                pause_sunday=False,
                night_start=None,
                night_end=None,
                business_phone="+4722334455",
                # The benchmarks send a patient many messages a day: no per-patient cap.
                max_per_patient_per_day=None,
            )
        )
        rows = [
            {
                "id": uuid.uuid4(),
                "clinic_id": clinic.id,
                "patient_no": f"{number:06d}",
                "first_name": "Kari",
                "last_name": f"Nordmann {number}",
                "mobile": f"+479{number:07d}",
                "mobile_problem": None,
                "wants_sms": True,
                "guardians": [],
                "search_text": f"kari nordmann {number}",
            }
            for number in range(patients)
        ]
        if rows:  # an empty list would insert one row of defaults
            await session.execute(insert(Patient), rows)
    await engine.dispose()
    return clinic.id, key


@contextmanager
def worker_process(**env: str) -> Iterator[subprocess.Popen[bytes]]:
    environment = (
        os.environ
        | {
            "DATABASE_URL": DATABASE_URL,
            "REDIS_URL": REDIS_URL,
            "ADMIN_TOKEN": "bench-admin-token",
            "LOG_LEVEL": "WARNING",
        }
        | env
    )
    prefix = os.environ.get("BENCH_WORKER_PREFIX", "").split()
    process = subprocess.Popen(
        [*prefix, str(ROOT / ".venv" / "bin" / "python"), "-m", "app.worker"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process (all its threads) has taken so far; 0 once gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def wait_until(
    check: Callable[[], Awaitable[bool]], within: float, interval: float = 0.02
) -> float:
    """Poll `check()` until it holds; answers the moment (perf_counter) it did."""
    deadline = time.perf_counter() + within
    while time.perf_counter() < deadline:
        if await check():
            return time.perf_counter()
        await asyncio.sleep(interval)
    raise TimeoutError("the benchmark did not finish in time")
