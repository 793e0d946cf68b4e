"""catalog's application factory: routes, lifespan, consumer."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from datacommune.catalog import ckan, consumers, routes, rowroutes, search
from datacommune.catalog.rowloader import RowLoader
from datacommune.catalog.settings import Settings
from datacommune.catalog.tables import Outbox
from datacommune.shared.health import health_router
from datacommune.shared.http import make_app
from datacommune.shared.runtime import open_runtime

DESCRIPTION = """
Le catalogue public des données du territoire : jeux de données, fichiers et leurs versions.
/ The territory's public data catalogue: datasets, files and their versions.
"""


def create_app(settings: Settings) -> FastAPI:
    """The catalog HTTP app; nothing connects until the lifespan starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_runtime(settings, outbox=Outbox) as runtime:
            app.state.runtime = runtime
            app.state.settings = settings
            await search.reindex_stale(runtime.sessionmaker)
            loader = RowLoader(runtime.engine, runtime.sessionmaker, runtime.store)
            await consumers.subscribe(
                runtime.bus,
                runtime.sessionmaker,
                runtime.relay,
                source=settings.source,
                public_url=settings.http.public_url,
                on_published=loader.wake,
            )
            loading = asyncio.create_task(loader.run(), name="row-loader")
            try:
                yield
            finally:
                loading.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await loading

    app = make_app(service="catalog", description=DESCRIPTION, lifespan=lifespan)
    app.include_router(health_router("catalog", lambda: app.state.runtime.readiness()))
    app.include_router(routes.router)
    app.include_router(rowroutes.router)
    for prefix in ckan.PREFIXES:
        app.include_router(ckan.router, prefix=prefix)
    return app
