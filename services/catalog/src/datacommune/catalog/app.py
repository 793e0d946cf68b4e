"""catalog's application factory: routes, lifespan, consumer."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from datacommune.catalog import ckan, consumers, routes, search
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
            await consumers.subscribe(
                runtime.bus,
                runtime.sessionmaker,
                runtime.relay,
                source=settings.source,
                public_url=settings.http.public_url,
            )
            yield

    app = make_app(service="catalog", description=DESCRIPTION, lifespan=lifespan)
    app.include_router(health_router("catalog", lambda: app.state.runtime.readiness()))
    app.include_router(routes.router)
    for prefix in ckan.PREFIXES:
        app.include_router(ckan.router, prefix=prefix)
    return app
