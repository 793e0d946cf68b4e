"""ingest's response models take every answer its routes really give and send it byte for byte
as before they had one: the dict the route builds, keys in its order, none added or dropped.

A stored report goes out exactly as validate wrote it, whatever it holds: a key the report
types do not know (a newer validate), one missing (an older one), its keys in their own order.

ingest is served in this process (tests/inprocess.py), on its own NATS server, a migrated SQLite
database and a local store; validation is not running, so its result is applied as ingest's
consumer applies it.
"""

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from datacommune.ingest import progress, schemas, views
from datacommune.ingest.app import create_app
from datacommune.ingest.settings import Settings
from datacommune.ingest.tables import Organization, Upload
from datacommune.shared import tokens
from datacommune.shared.db import make_engine, make_sessionmaker
from datacommune.shared.settings import (
    DatabaseSettings,
    HttpSettings,
    NatsSettings,
    StorageSettings,
)
from datacommune.shared.storage import open_store
from tests import servers
from tests.inprocess import serving

PUBLIC_URL = "http://ingest.test"
TOKEN = "dc_jeton-de-roques"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
Sessions = async_sessionmaker[AsyncSession]

# What the routes that return a dict sent before they had a response model: their return
# annotation was the model, dumped by Pydantic.
AS_BEFORE = TypeAdapter(dict[str, Any])

# A report as an older validate stored it (no ``truncated``, no ``lossless``) with a key no
# type knows, its mapping after its repair (as when a confirmed mapping is applied).
REPORT = {
    "version": 1,
    "valid": False,
    "publishable": False,
    "schema": {"id": "scdl-subventions@2.1.1", "title": "Subventions", "warnings": []},
    "source": {
        "format": "csv",
        "encoding": {"name": "cp1252", "bom": None, "confidence": 0.9, "reason": "…"},
        "header": ["COLL_NOM", "montant"],
    },
    "summary": {"rows": 1, "errors": 1, "warnings": 1, "error_types": {}, "warning_types": {}},
    "message": {"fr": "Le fichier n'est pas conforme.", "en": "It does not conform."},
    "issues": [],
    "seconds": 1e-05,
    "repair": {"file": [], "counts": {}, "kinds": {}, "changes": [], "applied": False},
    "mapping": {
        "proposed": [
            {"column": "COLL_NOM", "field": "nomAttribuant", "reason": "ancien nom", "score": 0.95}
        ]
    },
    "from_the_future": {"a": [1, 2.0, None]},
}


def rendered(body: dict[str, Any]) -> bytes:
    """A ``JSONResponse``'s body, as Starlette renders it."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


@pytest.fixture
def ingest_url(migrated: servers.MigratedDatabases, tmp_path: Path) -> Iterator[str]:
    with migrated.database("ingest", "sqlite", tmp_path) as url:
        yield url


@pytest.fixture
async def ingest(
    own_nats: servers.NatsServer, ingest_url: str, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, Sessions, Settings]]:
    """ingest served in process, Roques known to it, and a sessionmaker on its database."""
    settings = Settings(
        http=HttpSettings(public_url=PUBLIC_URL),
        nats=NatsSettings(url=own_nats.url),
        database=DatabaseSettings(url=ingest_url),
        storage=StorageSettings(root=tmp_path / "files"),
        staging_dir=tmp_path / "staging",
    )
    engine = make_engine(DatabaseSettings(url=ingest_url))
    sessions = make_sessionmaker(engine)
    async with sessions.begin() as session:
        session.add(Organization(slug="roques", name="Roques", token_hash=tokens.hash_token(TOKEN)))
    try:
        async with serving(create_app(settings), PUBLIC_URL) as client:
            yield client, sessions, settings
    finally:
        await engine.dispose()


async def described(sessions: Sessions, upload_id: str) -> dict[str, Any]:
    """The upload as ``views.describe`` builds it from the database."""
    async with sessions() as session:
        upload = await session.get(Upload, uuid.UUID(upload_id))
        assert upload is not None
        return views.describe(upload, public_url=PUBLIC_URL)


async def test_uploads_are_sent_as_built(
    ingest: tuple[httpx.AsyncClient, Sessions, Settings],
) -> None:
    client, sessions, settings = ingest

    async def upload() -> httpx.Response:
        return await client.post(
            "/api/v1/uploads",
            files={"file": ("subventions.csv", b"COLL_NOM;montant\nRoques;12,5\n", "text/csv")},
            data={"dataset": "subventions", "schema": "scdl-subventions", "title": "Subventions"},
            headers=AUTH,
        )

    first = await upload()
    again = await upload()
    assert (first.status_code, again.status_code) == (202, 200), first.text
    upload_id = first.json()["id"]
    built = await described(sessions, upload_id)
    assert first.content == rendered({**built, "duplicate": False})
    assert again.content == rendered({**built, "duplicate": True})

    # Before its report: no summary, no report.
    followed = await client.get(f"/api/v1/uploads/{upload_id}", headers=AUTH)
    assert followed.content == AS_BEFORE.dump_json({**built, "report": None}), followed.text

    # validate's result, applied as ingest's consumer applies it.
    stored = json.dumps(REPORT, ensure_ascii=False).encode()
    store = await open_store(settings.storage)
    await store.put_bytes(f"reports/{upload_id}.json", stored, media_type="application/json")
    async with sessions.begin() as session:
        await progress.advance(
            session,
            uuid.UUID(upload_id),
            "invalid",
            report_key=f"reports/{upload_id}.json",
            report_renditions={},
            # As an older validate's event gave it, before ``truncated``.
            summary=REPORT["summary"],
        )
    built = await described(sessions, upload_id)
    followed = await client.get(f"/api/v1/uploads/{upload_id}", headers=AUTH)
    assert followed.content == AS_BEFORE.dump_json({**built, "report": REPORT}), followed.text
    assert list(followed.json()["report"]) == list(REPORT)
    report = await client.get(f"/api/v1/uploads/{upload_id}/report", headers=AUTH)
    assert report.content == stored
    assert report.headers["content-type"] == "application/json"

    # The mapping the report proposed, confirmed: the same bytes checked again with it.
    confirmed = await client.post(f"/api/v1/uploads/{upload_id}/mapping", headers=AUTH)
    repeated = await client.post(f"/api/v1/uploads/{upload_id}/mapping", headers=AUTH)
    assert (confirmed.status_code, repeated.status_code) == (202, 200), confirmed.text
    remapped = await described(sessions, confirmed.json()["id"])
    mapping = {"mapping": {"COLL_NOM": "nomAttribuant"}}
    assert confirmed.content == rendered({**remapped, **mapping})
    assert repeated.content == rendered({**remapped, **mapping})


async def test_whoami_and_nodes_are_sent_as_built(
    ingest: tuple[httpx.AsyncClient, Sessions, Settings],
) -> None:
    client, _, _ = ingest
    whoami = await client.get("/api/v1/whoami", headers=AUTH)
    assert whoami.content == AS_BEFORE.dump_json({"organization": "roques", "name": "Roques"})
    nodes = await client.get("/api/v1/nodes")
    assert nodes.content == AS_BEFORE.dump_json({"items": []})


@pytest.mark.parametrize(
    "node",
    [
        # Never heard of: no source in the stream, no heartbeat.
        {
            "node": "roques",
            "lag_messages": None,
            "last_contact_seconds": None,
            "files_waiting": None,
            "oldest_waiting_seconds": None,
            "last_heartbeat": None,
            "reachable": False,
        },
        {
            "node": "muret",
            "lag_messages": 12,
            "last_contact_seconds": 0.4,
            "files_waiting": 3,
            "oldest_waiting_seconds": 61.0,
            "last_heartbeat": "2026-12-04T17:14:56.123456+00:00",
            "reachable": True,
        },
    ],
)
def test_a_node_as_the_hub_describes_it(node: dict[str, Any]) -> None:
    """What ``federation.NodeStatus.describe`` gives on a hub (which takes nodes to run), as
    ``GET /api/v1/nodes`` sends it with its model and without."""
    body = {"items": [node]}
    model = TypeAdapter(schemas.Nodes)
    assert model.dump_json(model.validate_python(body)) == AS_BEFORE.dump_json(body)


def test_the_report_is_documented_where_it_is_sent(tmp_path: Path) -> None:
    """The report's types are one component, which the report and the upload both refer to."""
    doc = create_app(Settings(staging_dir=tmp_path / "staging")).openapi()
    answers = doc["paths"]["/api/v1/uploads/{upload_id}/report"]["get"]["responses"]["200"]
    report = {"$ref": "#/components/schemas/Report"}
    assert answers["content"]["application/json"]["schema"] == report
    upload = doc["components"]["schemas"]["UploadWithReport"]["properties"]
    assert upload["report"]["anyOf"] == [report, {"type": "null"}]
    assert upload["summary"]["anyOf"] == [
        {"$ref": "#/components/schemas/Summary"},
        {"type": "null"},
    ]
    assert doc["components"]["schemas"]["Report"]["required"][:2] == ["version", "valid"]
