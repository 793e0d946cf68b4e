"""Start one service process: logging, migrations, then uvicorn with the app's real lifespan."""

from pathlib import Path

import uvicorn
from fastapi import FastAPI

from datacommune.shared import logging as dc_logging
from datacommune.shared.migrations import upgrade
from datacommune.shared.settings import ServiceSettings


def run(app: FastAPI, settings: ServiceSettings, *, migrations: Path | None) -> None:
    """Migrate the service's database to head, then serve until SIGTERM or SIGINT."""
    dc_logging.configure(service=settings.source)
    if migrations is not None:
        upgrade(migrations, settings.database.url)
    uvicorn.run(
        app,
        host=settings.http.host,
        port=settings.http.port,
        log_config=None,
        timeout_graceful_shutdown=10,
        proxy_headers=True,
    )
