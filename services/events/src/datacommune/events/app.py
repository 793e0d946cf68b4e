"""events' application factory: routes, lifespan, consumers and the release scheduler."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from datacommune.events import consumers, pages, release_routes, releases, routes
from datacommune.events.calendars import routes as calendar_routes
from datacommune.events.scheduler import Scheduler
from datacommune.events.settings import Settings
from datacommune.events.tables import Outbox
from datacommune.shared.health import health_router
from datacommune.shared.http import make_app
from datacommune.shared.process import tasks as background_tasks
from datacommune.shared.process.runtime import open_runtime

DESCRIPTION = """
Les événements locaux (conseil municipal, hackathon, fête…) et les publications programmées qui
s'ouvrent à leur début. / Local events, and the releases that open when they start.
"""


def create_app(settings: Settings) -> FastAPI:
    """The events HTTP app; nothing connects until the lifespan starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_runtime(settings, outbox=Outbox) as runtime:
            app.state.runtime = runtime
            app.state.settings = settings

            await consumers.subscribe(runtime.bus, runtime.sessionmaker)
            scheduler = Scheduler(
                runtime.sessionmaker, runtime.reader, runtime.relay, source=settings.source
            )
            app.state.scheduler = scheduler
            async with runtime.sessionmaker.begin() as session:
                await releases.announce_all(session, source=settings.source)
            runtime.relay.wake()
            ticking = asyncio.create_task(scheduler.run(), name="release-scheduler")
            try:
                yield
            finally:
                await background_tasks.stop([ticking])

    app = make_app(service="events", description=DESCRIPTION, lifespan=lifespan)
    app.include_router(health_router("events", lambda: app.state.runtime.readiness()))
    app.include_router(routes.router)
    app.include_router(release_routes.router)
    app.include_router(calendar_routes.router)
    app.include_router(pages.router)
    pages.install(app, settings)
    return app
