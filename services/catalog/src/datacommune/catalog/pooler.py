"""``python -m datacommune.catalog.pooler``: the pooler's process, started by the catalog
service (pooling/process.py says why and how they talk). It plugs catalog's features into the
core's hooks, as the service does, since a pooled version is published like any other."""

import asyncio
import contextlib
import os
import sys
from pathlib import Path

import structlog

from datacommune.catalog import features
from datacommune.catalog.pooling.process import MADE, WAKE
from datacommune.catalog.pooling.worker import Pooler
from datacommune.catalog.rows.store import RowStore
from datacommune.catalog.settings import Settings
from datacommune.shared.db import make_engine, make_sessionmaker
from datacommune.shared.process import logging as service_logging
from datacommune.shared.storage import open_store

log = structlog.get_logger()


async def _serve(settings: Settings) -> None:
    """The pooler's side: pool until standard input ends."""
    features.install()
    engine = make_engine(settings.database)
    store = await open_store(settings.storage)
    told = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)

    def made() -> None:
        with contextlib.suppress(BrokenPipeError):
            told.write(MADE)

    pooler = Pooler(
        make_sessionmaker(engine),
        store,
        public_url=settings.http.public_url,
        rows=RowStore(engine, Path(settings.rows_dir) if settings.rows_dir else None),
        on_version=made,
    )
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    pooling = asyncio.create_task(pooler.run(), name="pooler")
    try:
        while chunk := await reader.read(64):
            if WAKE in chunk:
                pooler.wake()
    finally:
        pooling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pooling
        await engine.dispose()


def _first_line() -> bytes:
    """The settings line, read without reading past it (the wake-ups that follow are the
    event loop's to read)."""
    line = b""
    while not line.endswith(b"\n") and (byte := os.read(0, 1)):
        line += byte
    return line


def main() -> None:
    settings = Settings.model_validate_json(_first_line())
    service_logging.configure(service=settings.source)
    log.info("pooler_process_started", pid=os.getpid())
    asyncio.run(_serve(settings))


if __name__ == "__main__":
    main()
