"""validate's application factory: the schema registry, routes, lifespan and consumer."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from datacommune.shared.health import health_router
from datacommune.shared.http import make_app
from datacommune.shared.process import scratch
from datacommune.shared.process.runtime import open_runtime
from datacommune.validate import announce, consumers, routes, validations
from datacommune.validate.registry import Registry, with_builtin
from datacommune.validate.settings import Settings
from datacommune.validate.tables import Outbox

DESCRIPTION = """
Vérification des fichiers reçus au regard des schémas nationaux (SCDL, schema.data.gouv.fr).
/ Checks received files against the national schemas.
"""


def create_app(settings: Settings) -> FastAPI:
    """The validate HTTP app; the registry is loaded once, nothing connects before the lifespan."""
    registry = Registry.from_dirs(with_builtin(settings.schemas_dirs))
    for catalogue in settings.schemas_catalogues:
        registry = registry.merged(Registry.from_catalogue(catalogue, settings.schemas_mirror))
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    # What a killed validate left mid-check (``tmp…``: as named before the folders were held).
    for prefix in (validations.SCRATCH_PREFIX, "tmp"):
        scratch.sweep(settings.work_dir, prefix=prefix)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_runtime(settings, outbox=Outbox) as runtime:
            app.state.runtime = runtime
            await consumers.subscribe(runtime, registry, settings)
            await announce.schemas(runtime, registry, source=settings.source)
            yield

    app = make_app(service="validate", description=DESCRIPTION, lifespan=lifespan)
    app.state.registry = registry
    app.include_router(health_router("validate", lambda: app.state.runtime.readiness()))
    app.include_router(routes.router)
    return app
