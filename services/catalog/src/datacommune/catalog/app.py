"""catalog's application factory: routes, lifespan, consumer."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from datacommune.catalog import features, ratelimit, search
from datacommune.catalog.access import rights
from datacommune.catalog.core import consumers
from datacommune.catalog.core.release_clock import ReleaseClock
from datacommune.catalog.harvest.worker import Harvester
from datacommune.catalog.interop import ckan
from datacommune.catalog.pages import catalogue as catalogue_pages
from datacommune.catalog.pages import territory as territory_pages
from datacommune.catalog.pooling.process import PoolerProcess
from datacommune.catalog.pooling.worker import SCRATCH_PREFIX as POOL_SCRATCH
from datacommune.catalog.pooling.worker import Pooler
from datacommune.catalog.rows import exports
from datacommune.catalog.rows import loader as rowloader
from datacommune.catalog.rows.loader import RowLoader
from datacommune.catalog.rows.store import RowStore
from datacommune.catalog.settings import Settings
from datacommune.catalog.tables import Outbox, ProcessedEvent
from datacommune.catalog.webhooks import deliveries
from datacommune.shared.health import health_router
from datacommune.shared.http import make_app
from datacommune.shared.process import scratch
from datacommune.shared.process import tasks as background_tasks
from datacommune.shared.process.runtime import open_runtime

DESCRIPTION = """
Le catalogue public des données du territoire : jeux de données, fichiers et leurs versions.
/ The territory's public data catalogue: datasets, files and their versions.
"""


def create_app(settings: Settings) -> FastAPI:
    """The catalog HTTP app; nothing connects until the lifespan starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # What a killed catalog left half-written; what a live one holds stays.
        for prefix in (rowloader.SCRATCH_PREFIX, exports.SCRATCH_PREFIX, POOL_SCRATCH):
            scratch.sweep(prefix=prefix)
        async with open_runtime(settings, outbox=Outbox, processed=ProcessedEvent) as runtime:
            app.state.runtime = runtime
            app.state.settings = settings
            await search.reindex_stale(runtime.sessionmaker)
            async with runtime.sessionmaker.begin() as session:
                await rights.announce_all(session, source=settings.source)
            runtime.relay.wake()
            rows = RowStore(runtime.engine, Path(settings.rows_dir) if settings.rows_dir else None)
            app.state.rows = rows
            loader = RowLoader(runtime.engine, runtime.sessionmaker, runtime.store, rows)
            sender = deliveries.WebhookSender(
                runtime.sessionmaker,
                allow_private=settings.allow_private_webhooks,
                reader=runtime.reader,
            )

            harvester = Harvester(
                runtime.sessionmaker,
                allow_private=settings.allow_private_harvest,
                timeout=settings.harvest_timeout_seconds,
                max_page_bytes=settings.harvest_max_page_bytes,
            )
            app.state.harvester = harvester

            def on_pool_version() -> None:
                loader.wake()
                sender.wake()

            # In a process of its own unless told otherwise: see pooling/process.py.
            pooler: PoolerProcess | Pooler = (
                PoolerProcess(settings, on_version=on_pool_version)
                if settings.pooler_process
                else Pooler(
                    runtime.sessionmaker,
                    runtime.store,
                    public_url=settings.http.public_url,
                    rows=rows,
                    on_version=on_pool_version,
                )
            )

            clock = ReleaseClock(
                runtime.sessionmaker,
                runtime.reader,
                public_url=settings.http.public_url,
                on_applied=pooler.wake,
            )

            def on_published() -> None:
                loader.wake()
                sender.wake()
                pooler.wake()

            def on_release_recorded() -> None:
                # An opening may have queued webhooks and pool work: done now, not at the
                # next poll.
                clock.wake()
                sender.wake()
                pooler.wake()

            await consumers.subscribe(
                runtime.bus,
                runtime.sessionmaker,
                runtime.relay,
                source=settings.source,
                public_url=settings.http.public_url,
                on_published=on_published,
                on_release_recorded=on_release_recorded,
            )
            tasks = [
                asyncio.create_task(loader.run(), name="row-loader"),
                asyncio.create_task(sender.run(), name="webhook-sender"),
                asyncio.create_task(clock.run(), name="release-clock"),
                asyncio.create_task(harvester.run(), name="harvester"),
                asyncio.create_task(pooler.run(), name="pooler"),
            ]
            try:
                yield
            finally:
                await background_tasks.stop(tasks)
                await rows.close()

    features.install()
    app = make_app(service="catalog", description=DESCRIPTION, lifespan=lifespan)
    app.state.vote_limit = ratelimit.RateLimit(settings.votes_per_hour, 3600)
    app.state.webhook_limit = ratelimit.RateLimit(settings.webhooks_per_hour, 3600)
    app.include_router(health_router("catalog", lambda: app.state.runtime.readiness()))
    for router in features.ROUTERS:
        app.include_router(router)
    for prefix in ckan.PREFIXES:
        app.include_router(ckan.router, prefix=prefix)
    app.add_exception_handler(ckan.InvalidParameters, ckan.on_invalid_parameters)
    app.include_router(catalogue_pages.router)
    app.include_router(territory_pages.router)
    catalogue_pages.install(app, settings, territory_pages.LABELS)
    return app
