"""events' application factory: routes, lifespan, the organization consumer."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from datacommune.events import routes
from datacommune.events.settings import Settings
from datacommune.events.tables import Organization, Outbox
from datacommune.shared import credentials, events
from datacommune.shared.health import health_router
from datacommune.shared.http import make_app
from datacommune.shared.runtime import open_runtime

DESCRIPTION = """
Les événements locaux (conseil municipal, hackathon, salon) auxquels une publication peut être
calée. / Local events a release can be timed to.
"""
DURABLE = "events"


def create_app(settings: Settings) -> FastAPI:
    """The events HTTP app; nothing connects until the lifespan starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_runtime(settings, outbox=Outbox) as runtime:
            app.state.runtime = runtime
            app.state.settings = settings

            async def on_organization(event: events.AnyEvent) -> None:
                assert isinstance(event, events.OrganizationCreated)
                async with runtime.sessionmaker.begin() as session:
                    await credentials.record(session, Organization, event)

            await runtime.bus.subscribe(DURABLE, on_organization, "organization.created.v1")
            yield

    app = make_app(service="events", description=DESCRIPTION, lifespan=lifespan)
    app.include_router(health_router("events", lambda: app.state.runtime.readiness()))
    app.include_router(routes.router)
    return app
