"""Dependencies of validate's routes: the schema registry, loaded once when the app is made."""

from typing import Annotated

from fastapi import Depends, Request

from datacommune.validate import problems
from datacommune.validate.registry import Registry, SchemaEntry


def registry(request: Request) -> Registry:
    return request.app.state.registry  # type: ignore[no-any-return]


RegistryDep = Annotated[Registry, Depends(registry)]


def known_schema(schemas: Registry, schema_id: str) -> SchemaEntry:
    """The schema of the path, or a 404 problem that says where the list is (called in the
    route, after FastAPI checked the other parameters, as it always was)."""
    entry = schemas.get(schema_id)
    if entry is None:
        raise problems.schema_not_found(schema_id)
    return entry
