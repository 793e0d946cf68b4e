"""``/healthz`` and ``/readyz`` answer as they always did, and the OpenAPI document shows both
shapes of ``/readyz``: ready (200) and not ready (a 503 problem)."""

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from datacommune.shared.health import health_router
from datacommune.shared.problems import MEDIA_TYPE

CHECKS = {"nats": "ok", "consumers": "ok", "database": "ok", "storage": "ok"}


def rendered(body: object) -> bytes:
    """A body as Starlette's ``JSONResponse`` renders it."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


@pytest.fixture
def checks() -> dict[str, str]:
    return dict(CHECKS)


@pytest.fixture
async def client(checks: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    async def readiness() -> dict[str, str]:
        return dict(checks)

    app = FastAPI()
    app.include_router(health_router("catalog", readiness))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_alive_and_ready_answer_as_before(client: httpx.AsyncClient) -> None:
    alive = await client.get("/healthz")
    assert (alive.status_code, alive.content) == (200, b'{"status":"ok","service":"catalog"}')
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.headers["content-type"] == "application/json"
    assert ready.content == rendered({"status": "ready", "service": "catalog", "checks": CHECKS})


async def test_not_ready_is_a_503_problem_naming_what_is_missing(
    client: httpx.AsyncClient, checks: dict[str, str]
) -> None:
    checks.update(database="OperationalError", nats="not connected")
    answer = await client.get("/readyz")
    assert answer.status_code == 503
    assert answer.headers["content-type"] == MEDIA_TYPE
    body = answer.json()
    assert list(body) == [
        "missing",
        "checks",
        "type",
        "title",
        "status",
        "detail",
        "title_en",
        "detail_en",
        "instance",
    ]
    assert body["missing"] == ["database", "nats"]
    assert body["checks"] == checks
    assert (body["type"], body["status"], body["instance"]) == (
        "/problems/not-ready",
        503,
        "/readyz",
    )


def test_the_document_shows_both_shapes_of_readiness() -> None:
    async def readiness() -> dict[str, str]:
        return {}

    app = FastAPI()
    app.include_router(health_router("catalog", readiness))
    doc = app.openapi()
    schemas = doc["components"]["schemas"]
    alive = doc["paths"]["/healthz"]["get"]["responses"]["200"]["content"]["application/json"]
    assert alive["schema"] == {"$ref": "#/components/schemas/Health"}
    assert schemas["Health"]["required"] == ["status", "service"]
    ready = doc["paths"]["/readyz"]["get"]["responses"]
    assert ready["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Ready"
    }
    assert schemas["Ready"]["required"] == ["status", "service", "checks"]
    not_ready = ready["503"]["content"][MEDIA_TYPE]["schema"]
    assert {"missing", "checks", "type", "title", "status", "detail_en"} <= set(
        not_ready["required"]
    )
