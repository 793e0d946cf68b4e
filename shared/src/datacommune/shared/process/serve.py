"""Start one service process: logging, migrations, then uvicorn with the app's real lifespan."""

from pathlib import Path

import uvicorn
from fastapi import FastAPI

from datacommune.shared import edge
from datacommune.shared.process import logging as dc_logging
from datacommune.shared.process import memory
from datacommune.shared.process.migrations import upgrade
from datacommune.shared.settings import ServiceSettings


def run(app: FastAPI, settings: ServiceSettings, *, migrations: Path | None) -> None:
    """Migrate the service's database to head, then serve until SIGTERM or SIGINT."""
    dc_logging.configure(service=settings.source)
    memory.install()
    memory.trim_in_background()
    if migrations is not None:
        upgrade(migrations, settings.database.url)
    limits = settings.http
    uvicorn.run(
        edge.Guard(app, limits),
        host=limits.host,
        port=limits.port,
        log_config=None,
        timeout_graceful_shutdown=10,
        proxy_headers=True,
        # h11 with our limits, never httptools: see shared/edge.py.
        http=edge.protocol(limits),
        h11_max_incomplete_event_size=limits.max_header_bytes,
        timeout_keep_alive=limits.keep_alive_timeout,
    )
