"""`python -m app.worker` runs a worker; `python -m app.worker check` exits 0 while a worker
on this host has beaten within `WORKER_DEAD_AFTER_SECONDS` (the container health check)."""

import asyncio
import socket
import sys
from typing import cast

from arq.typing import WorkerSettingsBase
from arq.worker import get_kwargs

from app.core.clock import SystemClock
from app.core.config import Settings, get_settings
from app.core.db import create_engine, create_sessionmaker
from app.core.logging import configure_logging
from app.worker.heartbeat import newest_heartbeat_age
from app.worker.resilient import ResilientWorker
from app.worker.settings import WorkerSettings


def run() -> None:
    configure_logging(get_settings().log_level)
    ResilientWorker(**get_kwargs(cast(type[WorkerSettingsBase], WorkerSettings))).run()


async def check_local_worker(settings: Settings) -> int:
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            age = await newest_heartbeat_age(
                session, SystemClock().now(), host=socket.gethostname()
            )
    finally:
        await engine.dispose()
    healthy = age is not None and age.total_seconds() <= settings.worker_dead_after_seconds
    beat = "none" if age is None else f"{age.total_seconds():.0f} s ago"
    sys.stdout.write(f"newest heartbeat on this host: {beat}\n")
    return 0 if healthy else 1


def main(argv: list[str]) -> int:
    if argv == ["check"]:
        return asyncio.run(check_local_worker(get_settings()))
    if argv:
        sys.stderr.write("usage: python -m app.worker [check]\n")
        return 2
    run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
