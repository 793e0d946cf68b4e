"""validate's HTTP routes: the schemas it knows, their fields, descriptors and templates."""

from typing import Any, Literal

from fastapi import APIRouter, Response

from datacommune.shared.http import BINARY, TEXT
from datacommune.validate import problems, schemas, templates
from datacommune.validate.deps import RegistryDep
from datacommune.validate.registry import Registry, SchemaEntry

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

router = APIRouter(prefix="/api/v1/schemas", tags=["schémas / schemas"])


@router.get("", response_model=schemas.Schemas, summary="Schémas connus / known schemas")
async def list_schemas(registry: RegistryDep) -> dict[str, Any]:
    return {"items": [_describe(e) for e in registry.all()]}


@router.get(
    "/{schema_id}",
    response_model=schemas.SchemaWithFields,
    summary="Un schéma et la documentation de ses champs / one schema and its fields",
)
async def get_schema(schema_id: str, registry: RegistryDep) -> dict[str, Any]:
    entry = _known(registry, schema_id)
    return {**_describe(entry), "fields": entry.fields()}


@router.get(
    "/{schema_id}/schema.json",
    response_model=schemas.TableSchema,
    summary="Le Table Schema lui-même / the Table Schema itself",
)
async def get_descriptor(schema_id: str, registry: RegistryDep) -> dict[str, Any]:
    """The descriptor validation applies (defects mended), for Data Packages to point at."""
    return dict(_known(registry, schema_id).descriptor)


@router.get(
    "/{schema_id}/template.{extension}",
    summary="Modèle à remplir (CSV ou XLSX) / template to fill in",
    response_class=Response,
    responses={200: {"content": {"text/csv": TEXT, XLSX: BINARY}}},
)
async def get_template(
    schema_id: str, extension: Literal["csv", "xlsx"], registry: RegistryDep
) -> Response:
    entry = _known(registry, schema_id)
    name = f"modele-{entry.name}-{entry.version}.{extension}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if extension == "csv":
        return Response(
            templates.to_csv(entry), media_type="text/csv; charset=utf-8", headers=headers
        )
    return Response(templates.to_xlsx(entry), media_type=XLSX, headers=headers)


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


def _known(schemas: Registry, schema_id: str) -> SchemaEntry:
    """The schema of the path, or a 404 problem that says where the list is (called in the
    route, after FastAPI checked the other parameters, as it always was)."""
    entry = schemas.get(schema_id)
    if entry is None:
        raise problems.schema_not_found(schema_id)
    return entry
