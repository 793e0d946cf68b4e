"""validate's application factory: schema routes, lifespan, the file.received consumer."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import FastAPI, Response

from datacommune.shared import events, scratch
from datacommune.shared.health import health_router
from datacommune.shared.http import make_app
from datacommune.shared.problems import NotFound
from datacommune.shared.runtime import open_runtime
from datacommune.validate import templates, validations
from datacommune.validate.registry import Registry, SchemaEntry
from datacommune.validate.settings import Settings
from datacommune.validate.tables import Outbox
from datacommune.validate.validations import validate_received

DESCRIPTION = """
Vérification des fichiers reçus au regard des schémas nationaux (SCDL, schema.data.gouv.fr).
/ Checks received files against the national schemas.
"""
DURABLE = "validate"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def create_app(settings: Settings) -> FastAPI:
    """The validate HTTP app; the registry is loaded once, nothing connects before the lifespan."""
    registry = Registry.from_dirs(settings.schemas_dirs)
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

            async def on_received(event: events.AnyEvent) -> None:
                assert isinstance(event, events.FileReceived)
                await validate_received(
                    event,
                    sessionmaker=runtime.sessionmaker,
                    store=runtime.store,
                    bus=runtime.bus,
                    relay=runtime.relay,
                    registry=registry,
                    work_dir=settings.work_dir,
                    source=settings.source,
                )

            await runtime.bus.subscribe(
                DURABLE,
                on_received,
                "file.received.v1",
                concurrency=settings.concurrency,
                ack_wait=settings.ack_wait,
            )
            yield

    app = make_app(service="validate", description=DESCRIPTION, lifespan=lifespan)
    app.include_router(health_router("validate", lambda: app.state.runtime.readiness()))

    def known(schema_id: str) -> SchemaEntry:
        entry = registry.get(schema_id)
        if entry is None:
            raise NotFound(
                f"Aucun schéma « {schema_id} ». La liste est sur /api/v1/schemas.",
                f"No schema {schema_id!r}. The list is at /api/v1/schemas.",
            )
        return entry

    @app.get(
        "/api/v1/schemas", tags=["schémas / schemas"], summary="Schémas connus / known schemas"
    )
    async def list_schemas() -> dict[str, Any]:
        return {"items": [_describe(e) for e in registry.all()]}

    @app.get(
        "/api/v1/schemas/{schema_id}",
        tags=["schémas / schemas"],
        summary="Un schéma et la documentation de ses champs / one schema and its fields",
    )
    async def get_schema(schema_id: str) -> dict[str, Any]:
        entry = known(schema_id)
        return {**_describe(entry), "fields": entry.fields()}

    @app.get(
        "/api/v1/schemas/{schema_id}/schema.json",
        tags=["schémas / schemas"],
        summary="Le Table Schema lui-même / the Table Schema itself",
    )
    async def get_descriptor(schema_id: str) -> dict[str, Any]:
        """The descriptor validation applies (defects mended), for Data Packages to point at."""
        return dict(known(schema_id).descriptor)

    @app.get(
        "/api/v1/schemas/{schema_id}/template.{extension}",
        tags=["schémas / schemas"],
        summary="Modèle à remplir (CSV ou XLSX) / template to fill in",
        response_class=Response,
        responses={200: {"content": {"text/csv": {}, XLSX: {}}}},
    )
    async def get_template(schema_id: str, extension: Literal["csv", "xlsx"]) -> Response:
        entry = known(schema_id)
        name = f"modele-{entry.name}-{entry.version}.{extension}"
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        if extension == "csv":
            return Response(
                templates.to_csv(entry), media_type="text/csv; charset=utf-8", headers=headers
            )
        return Response(templates.to_xlsx(entry), media_type=XLSX, headers=headers)

    return app


def _describe(entry: SchemaEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "name": entry.name,
        "version": entry.version,
        "title": entry.title,
        "description": entry.description,
        "fields_count": len(entry.descriptor.get("fields", [])),
        "warnings": entry.warnings,
    }
