"""The four OpenAPI documents as generated clients and API tools read them: valid OpenAPI 3.1
(the reference validator), one readable operation id per operation, a schema for every
successful answer."""

import importlib
import re
from typing import Any

import pytest
from openapi_spec_validator import validate

SERVICES = ("ingest", "validate", "catalog", "events")


def document(service: str) -> dict[str, Any]:
    """The service's document, from its app as the service builds it (nothing started)."""
    app = importlib.import_module(f"datacommune.{service}.app")
    settings = importlib.import_module(f"datacommune.{service}.settings")
    built: dict[str, Any] = app.create_app(settings.Settings()).openapi()
    return built


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict)
    ]


@pytest.mark.parametrize("service", SERVICES)
def test_the_document_is_valid_openapi_3_1(service: str) -> None:
    doc = document(service)
    assert doc["openapi"].startswith("3.1")
    validate(doc)  # raises on the first error, with where it is


@pytest.mark.parametrize("service", SERVICES)
def test_operation_ids_are_unique_and_readable(service: str) -> None:
    ids = [op["operationId"] for _, _, op in operations(document(service))]
    assert len(ids) == len(set(ids))
    # Names a generated client can use as methods, not FastAPI's path-and-method mangling.
    unreadable = [i for i in ids if not re.fullmatch(r"[a-z][a-z0-9_]{2,60}", i) or "__" in i]
    assert unreadable == []
    assert [i for i in ids if "_api_" in i] == []
    # A method in the name only where one path takes two (CKAN's GET and POST of an action).
    assert all(i.startswith("ckan_") for i in ids if re.search(r"_(get|post|patch|delete)$", i))


@pytest.mark.parametrize("service", SERVICES)
def test_every_successful_answer_has_a_schema(service: str) -> None:
    missing = []
    for method, path, op in operations(document(service)):
        for status, answer in op["responses"].items():
            if not status.startswith("2") or status == "204":
                continue
            if not any("schema" in media for media in (answer.get("content") or {}).values()):
                missing.append((method, path, status))
    assert missing == []
