"""catalog's routes over HTTP, served in this process (tests/inprocess.py), on SQLite and on
PostgreSQL: registering organizations, reading the catalogue, and refusals as problems."""

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from datacommune.catalog.app import create_app
from tests import servers
from tests.catalog import served
from tests.inprocess import serving

ADMIN, PUBLIC_URL = served.ADMIN, served.PUBLIC_URL


@pytest.fixture
async def catalog(
    catalog_url: str, own_nats: servers.NatsServer, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    settings = served.settings(catalog_url, own_nats.url, tmp_path)
    async with serving(create_app(settings), PUBLIC_URL) as client:
        yield client


async def register(client: httpx.AsyncClient, slug: str, **extra: str) -> httpx.Response:
    return await client.post(
        "/api/v1/organizations",
        json={"slug": slug, "name": slug.title(), "kind": "commune", **extra},
        headers={"Authorization": f"Bearer {ADMIN}"},
    )


async def test_an_organization_registered_is_listed_with_its_token_shown_once(
    catalog: httpx.AsyncClient,
) -> None:
    created = await register(catalog, "roques")
    assert created.status_code == 201, created.text
    assert created.json()["token"]
    listed = await catalog.get("/api/v1/organizations")
    assert [o["slug"] for o in listed.json()["items"]] == ["roques"]
    one = await catalog.get("/api/v1/organizations/roques")
    assert one.status_code == 200
    assert "token" not in one.json()


async def test_only_the_platform_administrator_registers_organizations(
    catalog: httpx.AsyncClient,
) -> None:
    refused = await catalog.post(
        "/api/v1/organizations",
        json={"slug": "roques", "name": "Roques", "kind": "commune"},
        headers={"Authorization": "Bearer not-the-admin"},
    )
    assert refused.status_code in (401, 403)
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert (await catalog.get("/api/v1/organizations")).json()["items"] == []


async def test_an_empty_catalogue_answers_with_nothing_not_an_error(
    catalog: httpx.AsyncClient,
) -> None:
    found = await catalog.get("/api/v1/datasets", params={"q": "subventions"})
    assert found.status_code == 200
    assert found.json()["total"] == 0
    assert found.json()["items"] == []


async def test_what_does_not_exist_is_a_problem_in_french_and_english(
    catalog: httpx.AsyncClient,
) -> None:
    missing = await catalog.get("/api/v1/datasets/nothing-here")
    assert missing.status_code == 404
    problem = missing.json()
    assert problem["status"] == 404
    assert problem["detail"]
    assert problem["detail_en"]
    version = await catalog.get(f"/api/v1/versions/{uuid.uuid4()}/download")
    assert version.status_code == 404


async def test_the_places_reference_is_loaded_by_the_administrator_only(
    catalog: httpx.AsyncClient,
) -> None:
    admin = {"Authorization": f"Bearer {ADMIN}"}
    roques = {"insee_code": "31458", "name": "Roques", "longitude": 1.3526, "latitude": 43.5081}
    body = {"source": "IGN Admin Express 2026", "items": [roques]}
    refused = await catalog.put("/api/v1/places", json=body)
    assert refused.status_code == 401
    assert (await catalog.put("/api/v1/places", json=body, headers=admin)).json() == {"stored": 1}
    # Loaded again with a box: replaced, not doubled.
    boxed = {**roques, "west": 1.32, "south": 43.49, "east": 1.38, "north": 43.53}
    again = await catalog.put(
        "/api/v1/places", json={"source": "IGN 2027", "items": [boxed]}, headers=admin
    )
    assert again.status_code == 200
    place = (await catalog.get("/api/v1/places/31458")).json()
    assert place["centre"] == [1.3526, 43.5081]
    assert place["bbox"] == [1.32, 43.49, 1.38, 43.53]
    assert place["source"] == "IGN 2027"

    half_box = {**roques, "west": 1.32}
    wrong = await catalog.put(
        "/api/v1/places", json={"source": "x", "items": [half_box]}, headers=admin
    )
    assert wrong.status_code == 422
    unknown = await catalog.get("/api/v1/places/2A004")
    assert unknown.status_code == 404
    assert "datacommune places import" in unknown.json()["detail"]
