"""The response models of data requests, webhooks and harvest sources take every answer these
routes really give, rare branches included (a run that failed, a delivery not yet tried), and
send it byte for byte as before they had one: the dict the domain builds, keys in its order,
none added, none dropped.

The catalog is served in this process (tests/inprocess.py); what the routes answer is compared
with what the domain builds from the same database."""

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from datacommune.catalog.app import create_app
from datacommune.catalog.harvest import runs, sources
from datacommune.catalog.requests import data_requests
from datacommune.catalog.tables import (
    DataRequest,
    Dataset,
    HarvestSource,
    Resource,
    Version,
    WebhookDelivery,
    WebhookSubscription,
)
from datacommune.catalog.webhooks import deliveries
from datacommune.shared.db import make_engine, make_sessionmaker
from datacommune.shared.outbox import utcnow
from datacommune.shared.settings import (
    DatabaseSettings,
)
from tests import servers
from tests.catalog import served
from tests.catalog.portals import Portal, ckan_package, serve
from tests.inprocess import serving

ADMIN, PUBLIC_URL = served.ADMIN, served.PUBLIC_URL
Sessions = async_sessionmaker[AsyncSession]

# What the routes sent before they had a response model: their ``dict[str, Any]`` return
# annotation was the model, dumped by Pydantic.
AS_BEFORE = TypeAdapter(dict[str, Any])


def sent_as_before(answer: httpx.Response, built: dict[str, Any]) -> None:
    """The answer is, byte for byte, the dict the domain builds as it was sent before."""
    assert answer.status_code < 300, answer.text
    assert answer.content == AS_BEFORE.dump_json(built), answer.text


def rendered(body: dict[str, Any]) -> bytes:
    """A ``JSONResponse``'s body, as Starlette renders it."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


@pytest.fixture
async def catalog(
    catalog_url: str, own_nats: servers.NatsServer, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, Sessions]]:
    """The catalog served in process, and a sessionmaker on its database."""
    settings = served.settings(
        catalog_url, own_nats.url, tmp_path, allow_private_webhooks=True, allow_private_harvest=True
    )
    engine = make_engine(DatabaseSettings(url=catalog_url))
    try:
        async with serving(create_app(settings), PUBLIC_URL) as client:
            yield client, make_sessionmaker(engine)
    finally:
        await engine.dispose()


async def register(client: httpx.AsyncClient, slug: str, **extra: str) -> str:
    """Register an organization; its admin token."""
    created = await client.post(
        "/api/v1/organizations",
        json={"slug": slug, "name": slug.title(), "kind": "commune", **extra},
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    assert created.status_code == 201, created.text
    return str(created.json()["token"])


async def until(check: Callable[[], Any], what: str, seconds: float = 30) -> Any:
    """Poll ``check`` (an async callable) until it returns something truthy."""
    for _ in range(int(seconds * 10)):
        if found := await check():
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def test_requests_votes_and_coverage_are_sent_as_built(
    catalog: tuple[httpx.AsyncClient, Sessions],
) -> None:
    client, sessions = catalog
    await register(client, "herault", kind="departement")
    await register(client, "lattes", parent="herault")

    bare = await client.post("/api/v1/requests", json={"title": "Les menus des cantines"})
    assert bare.status_code == 201
    wanted = await client.post(
        "/api/v1/requests",
        json={
            "title": "Les délibérations de Lattes",
            "description": "Depuis 2020",
            "territory": "lattes",
            "schema_id": "scdl-deliberations",
        },
    )
    assert wanted.status_code == 201
    async with sessions() as session:
        for answer in (bare, wanted):
            row = await session.get(DataRequest, uuid.UUID(answer.json()["id"]))
            assert row is not None
            sent_as_before(answer, data_requests.describe(row, 0))
    assert bare.json()["territory"] is None
    assert bare.json()["schema"] is None

    votes = f"/api/v1/requests/{wanted.json()['id']}/votes"
    first = await client.post(votes, json={"voter": "navigateur-1"})
    again = await client.post(votes, json={"voter": "navigateur-1"})
    assert (first.status_code, first.content) == (201, rendered({"votes": 1}))
    assert (again.status_code, again.content) == (200, rendered({"votes": 1}))

    # A version with a schema, so that the matrix has a column.
    async with sessions.begin() as session:
        dataset = Dataset(slug="lattes-subventions", organization="lattes", title="Subventions")
        session.add(dataset)
        await session.flush()
        resource = Resource(dataset_id=dataset.id, key="subventions", title="Subventions")
        session.add(resource)
        await session.flush()
        session.add(
            Version(
                resource_id=resource.id,
                number=1,
                upload_id=uuid.uuid4(),
                object_key="versions/x",
                sha256="0" * 64,
                size=1,
                filename="subventions.csv",
                media_type="text/csv",
                schema_id="scdl-subventions@2.1.0",
                valid=True,
                report_key="reports/x",
            )
        )

    for territory in (None, "herault"):
        params = {"territory": territory} if territory else {}
        listed = await client.get("/api/v1/requests", params=params)
        matrix = await client.get("/api/v1/coverage", params=params)
        async with sessions() as session:
            sent_as_before(listed, {"items": await data_requests.ranked(session, territory)})
            sent_as_before(matrix, await data_requests.coverage(session, territory))
    assert matrix.json()["schemas"] == ["scdl-subventions"]
    assert {o["slug"]: o["lacks"] for o in matrix.json()["organizations"]} == {
        "herault": ["scdl-subventions"],
        "lattes": [],
    }


@contextlib.contextmanager
def receiver() -> Iterator[str]:
    """A webhook receiver: ``/ok`` takes a delivery, ``/fail`` answers 500."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status, body = (200, b"ok") if self.path == "/ok" else (500, b"boom")
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    with servers.http_server(Handler) as base:
        yield base


def subscription_as_built(s: WebhookSubscription) -> dict[str, Any]:
    return {
        "id": str(s.id),
        "url": s.url,
        "scope": s.scope,
        "value": s.value,
        "created_at": s.created_at.isoformat(),
    }


PAYLOAD: dict[str, Any] = {
    "event": "dataset.opened",
    "dataset": "roques-budget",
    "title": "Budget",
    "organization": "roques",
    "url": f"{PUBLIC_URL}/api/v1/datasets/roques-budget",
    "opened_at": "2026-01-02T03:04:05+00:00",
    "release": None,
    "versions": [{"id": "v", "resource": "Budget", "schema": None, "download_url": "x"}],
}


async def test_subscriptions_and_every_kind_of_delivery_are_sent_as_built(
    catalog: tuple[httpx.AsyncClient, Sessions],
) -> None:
    client, sessions = catalog
    with receiver() as base:
        subscribed = {}
        for name, url in (
            ("ok", f"{base}/ok"),
            ("fail", f"{base}/fail"),
            ("closed", "http://127.0.0.1:9/hook"),
        ):
            answer = await client.post(
                "/api/v1/webhooks", json={"url": url, "scope": "schema", "value": "scdl"}
            )
            assert answer.status_code == 201, answer.text
            async with sessions() as session:
                row = await session.get(WebhookSubscription, uuid.UUID(answer.json()["id"]))
                assert row is not None
                sent_as_before(answer, {**subscription_as_built(row), "secret": row.secret})
            subscribed[name] = row

        def log(name: str) -> Any:
            row = subscribed[name]
            return client.get(
                f"/api/v1/webhooks/{row.id}/deliveries", headers={"X-Webhook-Secret": row.secret}
            )

        empty = await log("ok")
        sent_as_before(
            empty, {"subscription": subscription_as_built(subscribed["ok"]), "items": []}
        )

        # Delivered at once; failed at its last attempt (a 500); refused by a closed port and
        # waiting an hour; not tried yet.
        now = utcnow()
        async with sessions.begin() as session:
            for name, attempts, due in (
                ("ok", 0, now),
                ("fail", 11, now),
                ("closed", 10, now),
                ("closed", 0, now + timedelta(days=1)),
            ):
                session.add(
                    WebhookDelivery(
                        subscription_id=subscribed[name].id,
                        event="dataset.opened",
                        payload=PAYLOAD,
                        status="pending",
                        attempts=attempts,
                        next_attempt_at=due,
                        created_at=now + timedelta(seconds=attempts),
                    )
                )

        # The app's own sender tries the three that are due, within its poll.
        async def settled() -> bool:
            async with sessions() as session:
                rows = (await session.scalars(select(WebhookDelivery))).all()
                tried = [d for d in rows if d.status != "pending" or d.last_error is not None]
                return len(tried) == 3

        await until(settled, "the deliveries due to be tried")

        statuses = {}
        for name in subscribed:
            answer = await log(name)
            async with sessions() as session:
                rows = await session.scalars(
                    select(WebhookDelivery)
                    .where(WebhookDelivery.subscription_id == subscribed[name].id)
                    .order_by(WebhookDelivery.created_at.desc())
                )
                sent_as_before(
                    answer,
                    {
                        "subscription": subscription_as_built(subscribed[name]),
                        "items": [deliveries.describe(d) for d in rows.all()],
                    },
                )
            statuses[name] = [
                (d["status"], d["last_status"], d["last_error"] is None, d["delivered_at"] is None)
                for d in answer.json()["items"]
            ]
    assert statuses == {
        "ok": [("delivered", 200, True, False)],
        "fail": [("failed", 500, False, True)],
        "closed": [("pending", None, False, True), ("pending", None, True, True)],
    }


async def test_harvest_sources_and_runs_of_every_outcome_are_sent_as_built(
    catalog: tuple[httpx.AsyncClient, Sessions],
) -> None:
    client, sessions = catalog
    auth = {"Authorization": f"Bearer {await register(client, 'roques')}"}
    base = "/api/v1/organizations/roques/harvest-sources"

    async def finished(source_id: str, run_id: str | None = None) -> Any:
        async def done() -> Any:
            items = (await client.get(f"{base}/{source_id}/runs", headers=auth)).json()["items"]
            if items and items[0]["status"] != "running" and run_id in (None, items[0]["id"]):
                return items[0]
            return None

        return await until(done, "a harvest run to finish")

    async def as_built(source_id: str) -> None:
        """The source, its runs and the list, against what the domain builds."""
        one = await client.get(f"{base}/{source_id}", headers=auth)
        log = await client.get(f"{base}/{source_id}/runs", headers=auth)
        listed = await client.get(base, headers=auth)
        async with sessions() as session:
            source = await session.get(HarvestSource, uuid.UUID(source_id))
            assert source is not None
            found = await sources.last_runs(session, source.id, 20)
            sent_as_before(one, sources.describe_source(source, found[0] if found else None))
            sent_as_before(log, {"items": [sources.describe_run(r) for r in found]})
            every = []
            for s in await sources.list_sources(session, "roques"):
                last = await sources.last_runs(session, s.id, 1)
                every.append(sources.describe_source(s, last[0] if last else None))
            sent_as_before(listed, {"items": every})

    with serve(Portal()) as portal:
        portal.ckan = [ckan_package("budget"), ckan_package("sans-titre", title="")]
        created = await client.post(
            base, json={"kind": "ckan", "url": f"{portal.base}/ckan"}, headers=auth
        )
        assert created.status_code == 201, created.text
        assert list(created.json()) == [
            "id",
            "organization",
            "kind",
            "url",
            "filter",
            "interval_hours",
            "next_run_at",
            "running",
            "created_at",
            "last_run",
        ]
        assert b'"filter":null,"interval_hours":24.0,' in created.content
        assert created.json()["last_run"] is None
        source_id = created.json()["id"]

        # Harvested at once: one dataset taken, one failure logged.
        first = await finished(source_id)
        assert (first["status"], first["error"], len(first["failures"])) == ("succeeded", None, 1)
        await as_built(source_id)

        # Run now, and the portal answers 503: failed, with the URL and the HTTP status.
        portal.fail["package_search"] = 503
        started = await client.post(f"{base}/{source_id}/run", headers=auth)
        assert started.status_code == 202
        runs_url = f"{PUBLIC_URL}{base}/{source_id}/runs"
        assert started.content == rendered(
            {"run": started.json()["run"], "status": "running", "runs_url": runs_url}
        )
        assert started.headers["location"] == runs_url
        failed = await finished(source_id, started.json()["run"])
        assert failed["status"] == "failed"
        assert list(failed["error"]) == ["code", "detail", "detail_en", "url", "status"]
        await as_built(source_id)

        # A run under way (claimed, not yet carried out), then interrupted.
        run_id = await runs.claim(sessions, uuid.UUID(source_id), due_only=False)
        assert run_id is not None
        await as_built(source_id)
        under_way = (await client.get(f"{base}/{source_id}", headers=auth)).json()
        assert under_way["running"] is True
        assert under_way["last_run"]["finished_at"] is None
        await runs.interrupt(sessions, run_id)
        await as_built(source_id)

        # A source that cannot be reached: its error has no HTTP status, and none is added.
        closed = await client.post(
            base, json={"kind": "dcat", "url": "http://127.0.0.1:9/catalog.jsonld"}, headers=auth
        )
        assert closed.status_code == 201, closed.text
        unreachable = await finished(closed.json()["id"])
        assert list(unreachable["error"]) == ["code", "detail", "detail_en", "url"]
        await as_built(closed.json()["id"])

        deleted = await client.delete(f"{base}/{source_id}", headers=auth)
        sent_as_before(deleted, {"id": source_id, "deleted_datasets": 1})
