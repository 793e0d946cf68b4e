"""Dependencies of validate's routes: the schema registry, loaded once when the app is made."""

from typing import Annotated

from fastapi import Depends, Request

from datacommune.shared.problems import NotFound
from datacommune.validate.registry import Registry, SchemaEntry


def registry(request: Request) -> Registry:
    return request.app.state.registry  # type: ignore[no-any-return]


RegistryDep = Annotated[Registry, Depends(registry)]


def known_schema(schemas: Registry, schema_id: str) -> SchemaEntry:
    """The schema of the path, or a 404 problem that says where the list is (called in the
    route, after FastAPI checked the other parameters, as it always was)."""
    entry = schemas.get(schema_id)
    if entry is None:
        raise NotFound(
            f"Aucun schéma « {schema_id} ». La liste est sur /api/v1/schemas.",
            f"No schema {schema_id!r}. The list is at /api/v1/schemas.",
        )
    return entry
