"""Start one service process: logging, migrations, then uvicorn with the app's real lifespan."""

from pathlib import Path

import uvicorn
from fastapi import FastAPI

from datacommune.shared import logging as dc_logging
from datacommune.shared.migrations import upgrade
from datacommune.shared.settings import HttpSettings


def run(
    *,
    service: str,
    app: FastAPI,
    http: HttpSettings,
    database_url: str,
    migrations: Path | None,
) -> None:
    """Migrate the service's database to head, then serve until SIGTERM or SIGINT."""
    dc_logging.configure(service=service)
    if migrations is not None:
        upgrade(migrations, database_url)
    uvicorn.run(
        app,
        host=http.host,
        port=http.port,
        log_config=None,
        timeout_graceful_shutdown=10,
        proxy_headers=True,
    )
