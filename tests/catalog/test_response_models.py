"""The response models change no answer: over HTTP, each JSON answer of the core, search, rows
and interop routes has the very bytes its handler's dict had without a model (FastAPI's
``jsonable_encoder`` then ``JSONResponse``), on a catalogue with a repaired tabular version,
plain files and a harvested dataset; and every answer, CKAN's included, matches the OpenAPI
document that now describes it."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import jsonschema
import pytest
from fastapi import FastAPI
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import select
from starlette.requests import Request

from datacommune.catalog.app import create_app
from datacommune.catalog.core import datasets
from datacommune.catalog.core import routes as core_routes
from datacommune.catalog.core.hooks import HOOKS
from datacommune.catalog.interop import routes as interop_routes
from datacommune.catalog.rows import routes as rows_routes
from datacommune.catalog.rows.loader import RowLoader
from datacommune.catalog.search import routes as search_routes
from datacommune.catalog.settings import Settings
from datacommune.catalog.tables import (
    Dataset,
    HarvestRecord,
    HarvestSource,
    RemoteResource,
    RowTable,
    Version,
)
from datacommune.shared import events
from datacommune.shared.outbox import utcnow
from tests import servers
from tests.catalog import served
from tests.inprocess import serving

ADMIN, PUBLIC_URL = served.ADMIN, served.PUBLIC_URL
# A small rate (2.5e-05) is where pydantic's JSON and json.dumps write a float differently.
TABLE = "nom;montant;taux;vote_le\nAssociation é;1500.5;0.000025;2024-03-01\nClub;;12;\n"
FIELDS = [
    events.TableField(name="nom"),
    events.TableField(name="montant", type="number"),
    events.TableField(name="taux", type="number"),
    events.TableField(name="vote_le", type="date"),
]
CHANGES = {
    "file": ["séparateur « ; » → « , »"],
    "counts": {"number": 1},
    "kinds": {"number": "nombre écrit à l'anglaise"},
    "changes_total": 1,
    "changes": [
        {
            "kind": "number",
            "row": 2,
            "column": 2,
            "field": "montant",
            "before": "1500,5",
            "after": "1500.5",
        }
    ],
}


@dataclass
class Catalogue:
    client: httpx.AsyncClient
    app: FastAPI
    document: dict[str, Any]
    token: str
    table_version: uuid.UUID
    plain_version: uuid.UUID
    remote_resource: uuid.UUID


def validated(title: str | None, file: events.FileRef, **extra: Any) -> events.FileValidated:
    return events.FileValidated(
        source="test",
        upload_id=uuid.uuid4(),
        organization="roques",
        dataset="subventions",
        title=title,
        file=file,
        valid=True,
        publishable=True,
        report_key="reports/x.json",
        summary=events.ReportSummary(rows=2),
        **extra,
    )


async def publish(app: FastAPI, event: events.FileValidated) -> uuid.UUID:
    runtime = app.state.runtime
    async with runtime.sessionmaker.begin() as session:
        await datasets.publish(session, event, source="test", public_url=PUBLIC_URL)
        version_id = await session.scalar(
            select(Version.id).where(Version.upload_id == event.upload_id)
        )
    assert version_id is not None
    return version_id


async def harvested(app: FastAPI) -> uuid.UUID:
    """A dataset harvested from a CKAN portal, as the harvester records one (unknown licence,
    one file fully described, one with nothing known but its address)."""
    async with app.state.runtime.sessionmaker.begin() as session:
        source = HarvestSource(
            organization="roques",
            kind="ckan",
            url="https://portail.example/api/3",
            interval_minutes=60,
            next_run_at=utcnow(),
        )
        dataset = Dataset(
            slug="budget-moissonne",
            organization="roques",
            title="Budget",
            description="Le budget primitif",
            keywords=["budget", "x"],
            licence="notspecified",
            spatial=["31458"],
        )
        session.add_all([source, dataset])
        await session.flush()
        described = RemoteResource(
            dataset_id=dataset.id,
            position=0,
            title="Budget 2024",
            url="https://portail.example/budget.csv",
            format="csv",
            media_type="text/csv",
            size=1234,
        )
        bare = RemoteResource(
            dataset_id=dataset.id, position=1, title="Annexe", url="https://portail.example/a"
        )
        session.add_all([described, bare])
        session.add(
            HarvestRecord(
                source_id=source.id,
                remote_id="id-budget",
                identity="https://portail.example/dataset/id-budget",
                dataset_id=dataset.id,
                digest="0" * 64,
            )
        )
        await session.flush()
        await session.refresh(dataset)
        await HOOKS.dataset_changed(session, dataset)
        return described.id


async def rows_loaded(app: FastAPI, version_id: uuid.UUID) -> None:
    """Load the version's rows here, or wait for the app's own loader if it took them first."""
    runtime = app.state.runtime
    loader = RowLoader(runtime.engine, runtime.sessionmaker, runtime.store, app.state.rows)
    for _ in range(300):
        await loader.load_next()
        async with runtime.reader() as session:
            table = await session.get(RowTable, version_id)
        assert table is not None
        assert table.status != "failed", table.error
        if table.status == "ready":
            return
        await asyncio.sleep(0.1)
    pytest.fail("rows not loaded")


@pytest.fixture
async def catalogue(
    catalog_url: str, own_nats: servers.NatsServer, tmp_path: Path
) -> AsyncIterator[Catalogue]:
    settings = served.settings(catalog_url, own_nats.url, tmp_path)
    app = create_app(settings)
    async with serving(app, PUBLIC_URL) as client:
        created = await client.post(
            "/api/v1/organizations",
            json={"slug": "roques", "name": "Roques", "kind": "commune", "siren": "213104582"},
            headers={"Authorization": f"Bearer {ADMIN}"},
        )
        assert created.status_code == 201, created.text
        store = app.state.runtime.store
        table = TABLE.encode()
        await store.put_bytes("files/table", table, media_type="text/csv")
        await store.put_bytes("files/original", table, media_type="text/csv")
        await store.put_bytes(
            "repairs/t.json", json.dumps(CHANGES).encode(), media_type="application/json"
        )
        await store.put_bytes("files/plain", b"{}", media_type="application/json")
        table_ref = events.FileRef(
            object_key="files/table",
            sha256="a" * 64,
            size=len(table),
            filename="subventions.csv",
            media_type="text/csv",
        )
        table_version = await publish(
            app,
            validated(
                "Subventions 2024",
                table_ref,
                schema_id="scdl-subventions@2.1.1",
                original=table_ref.model_copy(
                    update={"object_key": "files/original", "filename": "subventions.xls"}
                ),
                changes_key="repairs/t.json",
                table=events.TableShape(delimiter=";", fields=FIELDS),
            ),
        )
        # A second version of the same file, not tabular, and another file an EPCI sent.
        await publish(app, validated("Subventions 2024", table_ref))
        plain_version = await publish(
            app,
            validated(
                None,
                events.FileRef(
                    object_key="files/plain",
                    sha256="b" * 64,
                    size=2,
                    filename="budget.json",
                    media_type="application/json",
                ),
                uploaded_by="muretain-agglo",
            ),
        )
        await rows_loaded(app, table_version)
        remote = await harvested(app)
        for _ in range(2):
            assert (await client.get(f"/api/v1/versions/{table_version}/download")).is_success
        yield Catalogue(
            client,
            app,
            app.openapi(),
            created.json()["token"],
            table_version,
            plain_version,
            remote_resource=remote,
        )


def before(body: Any) -> bytes:
    """The bytes FastAPI answered for a handler's dict before it had a response model."""
    return bytes(JSONResponse(jsonable_encoder(body)).body)


def conforms(document: dict[str, Any], path: str, response: httpx.Response) -> None:
    """The answer is what the OpenAPI document says of this path's 200."""
    assert response.status_code == 200, response.text
    operation = document["paths"][path][response.request.method.lower()]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    jsonschema.validate(
        response.json(),
        {**schema, "components": document["components"]},
        cls=jsonschema.Draft202012Validator,
    )


async def test_core_search_and_interop_answers_keep_their_bytes(catalogue: Catalogue) -> None:
    client, app, document = catalogue.client, catalogue.app, catalogue.document
    settings = app.state.settings
    patched = await client.patch(
        "/api/v1/datasets/subventions",
        json={
            "description": "Les **aides** versées",
            "keywords": ["subventions", "associations"],
            "theme": "ECON",
            "contact_point": "mairie@roques.fr",
            "spatial": ["31458"],
            "temporal_start": "2024-01-01",
            "frequency": "annual",
        },
        headers={"Authorization": f"Bearer {catalogue.token}"},
    )
    conforms(document, "/api/v1/datasets/{slug}", patched)
    table, plain = catalogue.table_version, catalogue.plain_version
    async with app.state.runtime.reader() as session:
        answers = [
            (
                "/api/v1/datasets/{slug}",
                "/api/v1/datasets/subventions",
                await core_routes.get_dataset("subventions", session, settings),
            ),
            (
                "/api/v1/datasets/{slug}",
                "/api/v1/datasets/budget-moissonne",
                await core_routes.get_dataset("budget-moissonne", session, settings),
            ),
            (
                "/api/v1/datasets/{slug}/history",
                "/api/v1/datasets/subventions/history",
                await core_routes.dataset_history("subventions", session, settings),
            ),
            (
                "/api/v1/datasets/{slug}/history",
                "/api/v1/datasets/budget-moissonne/history",
                await core_routes.dataset_history("budget-moissonne", session, settings),
            ),
            (
                "/api/v1/versions/{version_id}/downloads",
                f"/api/v1/versions/{table}/downloads",
                await core_routes.version_downloads(table, session),
            ),
            (
                "/api/v1/versions/{version_id}/downloads",
                f"/api/v1/versions/{plain}/downloads",
                await core_routes.version_downloads(plain, session),
            ),
            (
                "/api/v1/datasets/{slug}/datapackage.json",
                "/api/v1/datasets/subventions/datapackage.json",
                await interop_routes.datapackage("subventions", session, settings),
            ),
            (
                "/api/v1/datasets/{slug}/datapackage.json",
                "/api/v1/datasets/budget-moissonne/datapackage.json",
                await interop_routes.datapackage("budget-moissonne", session, settings),
            ),
            (
                "/api/v1/datasets",
                "/api/v1/datasets?page_size=1",
                await search(session, settings, page_size=1),
            ),
            (
                "/api/v1/datasets",
                "/api/v1/datasets?q=subventions",
                await search(session, settings, q="subventions"),
            ),
        ]
    for path, url, body in answers:
        answer = await client.get(url)
        assert answer.content == before(body), url
        assert answer.headers["content-type"] == "application/json"
        conforms(document, path, answer)
    assert patched.content == before(answers[0][2])
    # The rarer branches were taken: a repaired version with rows, files without, an EPCI's.
    files = answers[0][2]["resources"]
    assert files[0]["versions"][0]["repaired"]["changes_url"]
    assert files[0]["versions"][0]["rows"]["status"] == "ready"
    assert files[0]["versions"][1]["rows"] is None
    assert files[1]["versions"][0]["uploaded_by"] == "muretain-agglo"
    assert answers[8][2]["next_cursor"]
    assert answers[7][2]["resources"][1] == {
        "name": "annexe-1",
        "title": "Annexe",
        "path": "https://portail.example/a",
    }


async def test_rows_keep_their_bytes_and_floats(catalogue: Catalogue) -> None:
    client, app, document = catalogue.client, catalogue.app, catalogue.document
    version = catalogue.table_version
    for params in ({"_size": "1"}, {"_count": "false", "taux__gt": "0", "_sort": "-taux"}):
        answer = await client.get(f"/api/v1/versions/{version}/rows", params=params)
        response = await rows_routes.rows(
            version,
            Request({"type": "http", "query_string": urlencode(params).encode(), "headers": []}),
            app.state.runtime,
            app.state.rows,
            app.state.settings,
            _sort=params.get("_sort"),
            _columns=None,
            _size=int(params.get("_size", "100")),
            _cursor=None,
            _count=params.get("_count") != "false",
        )
        # Returned as a response, its model unapplied: the very bytes the model would give.
        assert answer.content == response.body == before(json.loads(response.body))
        conforms(document, "/api/v1/versions/{version_id}/rows", answer)
    assert b"2.5e-05" in answer.content
    exported = await client.get(f"/api/v1/versions/{version}/rows.json")
    assert exported.status_code == 200
    schema = document["paths"]["/api/v1/versions/{version_id}/rows.{extension}"]["get"]
    jsonschema.validate(
        exported.json(), schema["responses"]["200"]["content"]["application/json"]["schema"]
    )
    changes = await client.get(f"/api/v1/versions/{version}/changes")
    assert changes.content == json.dumps(CHANGES).encode()
    conforms(document, "/api/v1/versions/{version_id}/changes", changes)


async def test_ckan_answers_match_their_document(catalogue: Catalogue) -> None:
    client, document = catalogue.client, catalogue.document
    async with catalogue.app.state.runtime.reader() as session:
        dataset = await datasets.get(session, "subventions")
        resource = dataset.resources[0].id
    calls = [
        ("status_show", {}),
        ("package_list", {}),
        ("package_search", {"q": "*:*", "rows": "5"}),
        ("package_search", {"fq": "organization:roques", "sort": "metadata_modified desc"}),
        ("package_show", {"id": "subventions"}),
        ("package_show", {"id": "budget-moissonne"}),
        ("resource_show", {"id": str(resource)}),
        ("resource_show", {"id": str(catalogue.remote_resource)}),
        ("organization_list", {}),
        ("organization_list", {"all_fields": "true"}),
        ("organization_show", {"id": "roques"}),
        ("organization_show", {"id": "roques", "include_datasets": "true"}),
    ]
    for prefix in ("/api/3/action", "/api/action"):
        for action, params in calls:
            answer = await client.get(f"{prefix}/{action}", params=params)
            conforms(document, f"{prefix}/{action}", answer)
    # A JSON body may hold any value CKAN echoes back, such as a sort that is not a string.
    searched = await client.post("/api/3/action/package_search", json={"sort": ["score"]})
    conforms(document, "/api/3/action/package_search", searched)
    assert searched.json()["result"]["sort"] == ["score"]
    shown = (
        await client.get("/api/3/action/package_show", params={"id": "budget-moissonne"})
    ).json()
    assert [r.get("url_type", "absent") for r in shown["result"]["resources"]] == [None, None]


async def search(session: Any, settings: Settings, **given: Any) -> dict[str, Any]:
    """The search handler's dict for these parameters (the rest as FastAPI defaults them)."""
    defaults: dict[str, Any] = dict.fromkeys(
        ("q", "organization", "territory", "schema", "theme", "licence", "format", "cursor")
    )
    return await search_routes.list_datasets(
        session, settings, **{**defaults, "sort": "relevance", "page_size": 20, **given}
    )
