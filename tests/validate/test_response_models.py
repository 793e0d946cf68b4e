"""validate's response models send every schema answer byte for byte as before they had one,
a defective schema's included: what a route copies from a descriptor passes as it is.

The routes read only the registry, made with the app: they are called in this process without
the lifespan (nothing else is needed, and nothing connects)."""

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter

from datacommune.validate import routes
from datacommune.validate.app import create_app
from datacommune.validate.registry import BUILTIN, Registry
from datacommune.validate.settings import Settings

# What the routes sent before they had a response model: their ``dict[str, Any]`` return
# annotation was the model, dumped by Pydantic.
AS_BEFORE = TypeAdapter(dict[str, Any])

# Served though frictionless would refuse it: a field without a name, numbers where the
# specification wants text, an example of any shape.
DEFECTIVE = {
    "title": "Défectueux",
    "version": 2,
    "fields": [
        {"title": 12, "type": None, "description": ["a", "b"], "example": {"x": [1, 2.5]}},
        {"name": "montant", "type": "number", "required": True, "example": 1e-05},
    ],
    "primaryKey": "montant",
}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Registry]]:
    extra = tmp_path / "schemas"
    (extra / "defectueux").mkdir(parents=True)
    (extra / "defectueux" / "schema.json").write_text(json.dumps(DEFECTIVE))
    app = create_app(Settings(schemas_dirs=[BUILTIN, extra], work_dir=tmp_path / "work"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://validate.test") as c:
        yield c, app.state.registry


async def test_schemas_are_sent_as_built(client: tuple[httpx.AsyncClient, Registry]) -> None:
    http, registry = client
    listed = await http.get("/api/v1/schemas")
    assert listed.content == AS_BEFORE.dump_json(
        {"items": [routes._describe(e) for e in registry.all()]}
    )
    assert "defectueux@2" in {s["id"] for s in listed.json()["items"]}
    for entry in registry.all():
        one = await http.get(f"/api/v1/schemas/{entry.id}")
        assert one.content == AS_BEFORE.dump_json(
            {**routes._describe(entry), "fields": entry.fields()}
        ), one.text
        descriptor = await http.get(f"/api/v1/schemas/{entry.id}/schema.json")
        assert descriptor.content == AS_BEFORE.dump_json(dict(entry.descriptor)), descriptor.text
