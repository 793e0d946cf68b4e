"""Every JSON answer of the four services has its shape in the OpenAPI document: a named
model, not an open object, so that a client generated from the document knows what it gets."""

from importlib import import_module
from typing import Any

import pytest

SERVICES = ("ingest", "validate", "catalog", "events")
JSON = ("application/json", "application/problem+json", "application/geo+json")


def _document(service: str) -> dict[str, Any]:
    app = import_module(f"datacommune.{service}.app")
    settings = import_module(f"datacommune.{service}.settings")
    document: dict[str, Any] = app.create_app(settings.Settings()).openapi()
    return document


def _open(schema: dict[str, Any]) -> bool:
    """An object schema that says nothing of its keys (``dict[str, Any]``)."""
    return schema.get("type") == "object" and not schema.get("properties") and "$ref" not in schema


@pytest.mark.parametrize("service", SERVICES)
def test_every_json_answer_names_its_shape(service: str) -> None:
    unshaped = []
    for path, operations in _document(service)["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation.get("responses", {}).items():
                if not status.startswith("2"):
                    continue
                for media, content in answer.get("content", {}).items():
                    if media not in JSON:
                        continue
                    schema = content.get("schema") or {}
                    if not schema or _open(schema):
                        unshaped.append(f"{method.upper()} {path} {status} {media}")
    assert unshaped == []
