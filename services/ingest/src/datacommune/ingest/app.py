"""ingest's application factory: routes, lifespan, consumers."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from datacommune.ingest import consumers, federation, form, progress, routes
from datacommune.ingest.pages import routes as pages
from datacommune.ingest.settings import Settings
from datacommune.ingest.tables import Outbox
from datacommune.shared import metrics
from datacommune.shared.health import health_router
from datacommune.shared.http import make_app
from datacommune.shared.process import scratch
from datacommune.shared.process import tasks as background_tasks
from datacommune.shared.process.runtime import open_runtime

DESCRIPTION = """
Dépôt des fichiers d'une collectivité : chaque fichier est enregistré durablement, puis
vérifié et publié par les autres services. / A collectivité's file drop: each file is stored
durably, then checked and published by the other services.
"""


def create_app(settings: Settings) -> FastAPI:
    """The ingest HTTP app; nothing connects until the lifespan starts."""

    settings.staging_dir.mkdir(parents=True, exist_ok=True)
    # Whatever a killed process left half-received was never answered with 2xx; what a live
    # replica sharing the folder receives is held, and stays.
    scratch.sweep(settings.staging_dir, prefix=form.STAGING_PREFIX)
    scratch.sweep(prefix=federation.SCRATCH_PREFIX)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        on_node = bool(settings.nats.node)
        async with open_runtime(
            settings,
            outbox=Outbox,
            before_publish=federation.shipper if on_node else None,
        ) as runtime:
            app.state.runtime = runtime
            app.state.settings = settings
            await consumers.subscribe(runtime.bus, runtime.sessionmaker)
            tasks: list[asyncio.Task[None]] = []
            app.state.node_status = None
            if on_node:
                tasks.append(asyncio.create_task(federation.kick_loop(runtime.bus)))
                assert settings.nats.node is not None
                tasks.append(
                    asyncio.create_task(federation.heartbeat_loop(runtime, settings.nats.node))
                )
            elif settings.nats.hub_nodes:
                tasks += await federation.Forwarder(runtime, source=settings.source).start()
                app.state.node_status = federation.NodeStatus(runtime.bus)
                await app.state.node_status.follow()
            try:
                yield
            finally:
                await background_tasks.stop(tasks)

    async def measure() -> None:
        async with app.state.runtime.reader() as session:
            for status, count in (await progress.by_status(session)).items():
                metrics.UPLOADS.labels(status).set(count)
        if app.state.node_status is not None:
            for node in await app.state.node_status.describe():
                waiting = node["files_waiting"]
                metrics.NODE_FILES_WAITING.labels(node["node"]).set(waiting or 0)
                metrics.NODE_REACHABLE.labels(node["node"]).set(int(node["reachable"]))

    app = make_app(service="ingest", description=DESCRIPTION, lifespan=lifespan, measure=measure)
    app.include_router(health_router("ingest", lambda: app.state.runtime.readiness()))
    app.include_router(routes.router)
    app.include_router(pages.router)
    app.include_router(pages.nodes_router)
    pages.install(app, settings)
    return app
