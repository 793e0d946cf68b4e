"""Pooled data (issue 17): a territory's SCDL subsidies in one consolidated dataset, exactly
right after each publication, republication, release and withdrawal, on both engines.

The catalogue is driven as its consumer and release clock drive it (``datasets.publish``,
``visibility.apply_due``), and the pooler's unit of work (``Pooler.apply_next``) is run by the
test, so each step is observed once it is done.
"""

import asyncio
import csv
import hashlib
import io
import json
import os
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rdflib import URIRef
from rdflib.namespace import PROV
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from datacommune.catalog.access import organizations
from datacommune.catalog.core import datasets, visibility
from datacommune.catalog.core.hooks import HOOKS
from datacommune.catalog.interop import datapackage, dcat
from datacommune.catalog.pooling import files, pooled_rows, views
from datacommune.catalog.pooling.worker import Pooler
from datacommune.catalog.tables import (
    Dataset,
    Organization,
    Outbox,
    Pool,
    PoolChange,
    PoolRow,
    PoolVersion,
    Resource,
    RowTable,
    Version,
    WebhookDelivery,
    WebhookSubscription,
)
from datacommune.shared import events, tokens
from datacommune.shared.db import make_engine, make_sessionmaker
from datacommune.shared.problems import Conflict
from datacommune.shared.settings import DatabaseSettings
from datacommune.shared.storage import LocalObjectStore, content_key

Sessions = async_sessionmaker[AsyncSession]
PUBLIC_URL = "http://catalog.test"
SCHEMA = "scdl-subventions"
FIELDS_211 = [
    "nomAttribuant",
    "idAttribuant",
    "dateConvention",
    "referenceDecision",
    "nomBeneficiaire",
    "idBeneficiaire",
    "objet",
    "montant",
    "nature",
    "dispositifAide",
]
# The previous version had no « dispositifAide » (a minor version adds an optional field).
FIELDS_200 = FIELDS_211[:-1]
POOL = f"haute-garonne--{SCHEMA}"


@dataclass
class Territory:
    sessions: Sessions
    store: LocalObjectStore
    pooler: Pooler


@pytest.fixture
async def territory(catalog_url: str, tmp_path: Path) -> AsyncIterator[Territory]:
    """The Haute-Garonne, the Sicoval in it, and Roques, Labège and Escalquens in the Sicoval."""
    engine = make_engine(DatabaseSettings(url=catalog_url))
    sessions = make_sessionmaker(engine)
    orgs = [
        ("haute-garonne", "Haute-Garonne", "departement", None, "223100017"),
        ("sicoval", "Sicoval", "epci", "haute-garonne", "243100633"),
        ("roques", "Roques", "commune", "sicoval", "213104571"),
        ("labege", "Labège", "commune", "sicoval", "213102542"),
        ("escalquens", "Escalquens", "commune", "sicoval", None),
    ]
    async with sessions.begin() as session:
        for slug, name, kind, parent, siren in orgs:
            session.add(
                Organization(
                    slug=slug,
                    name=name,
                    kind=kind,
                    parent=parent,
                    siren=siren,
                    token_hash=tokens.hash_token(slug),
                )
            )
            await session.flush()
    store = LocalObjectStore(tmp_path / "files")
    yield Territory(sessions, store, Pooler(sessions, store, public_url=PUBLIC_URL))
    await engine.dispose()


def subsidy(org: str, n: int, *, fields: list[str] = FIELDS_211) -> dict[str, str]:
    row = {
        "nomAttribuant": org.title(),
        "idAttribuant": "21310457000014",
        "dateConvention": "2025-02-11",
        "referenceDecision": f"DEL-{org}-{n}",
        "nomBeneficiaire": f"Association {n}",
        "idBeneficiaire": "44239187600012",
        "objet": f"Objet {n}, « fête »",
        "montant": str(1000 + n),
        "nature": "aide en numéraire",
        "dispositifAide": "",
    }
    return {k: row[k] for k in fields}


async def publish(
    t: Territory,
    org: str,
    dataset: str,
    rows: list[dict[str, str]],
    *,
    version: str = "2.1.1",
    release: uuid.UUID | None = None,
    valid: bool = True,
    key: list[str] | None = None,
) -> uuid.UUID:
    """Store the CSV and publish it as catalog's consumer does; the upload's id."""
    fields = list(rows[0])
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    data = out.getvalue().encode()
    sha256 = hashlib.sha256(data).hexdigest()
    await t.store.put_bytes(content_key(sha256), data, media_type="text/csv")
    upload = uuid.uuid4()
    event = events.FileValidated(
        source="test",
        upload_id=upload,
        organization=org,
        dataset=dataset,
        title="Subventions",
        schema_id=f"{SCHEMA}@{version}",
        file=events.FileRef(
            object_key=content_key(sha256),
            sha256=sha256,
            size=len(data),
            filename="subventions.csv",
            media_type="text/csv",
        ),
        valid=valid,
        publishable=True,
        report_key="reports/x.json",
        summary=events.ReportSummary(rows=len(rows)),
        table=events.TableShape(
            fields=[events.TableField(name=f) for f in fields], primary_key=key or []
        ),
        release_id=release,
    )
    async with t.sessions.begin() as session:
        await datasets.publish(session, event, source="test", public_url=PUBLIC_URL)
    return upload


async def settle(t: Territory) -> int:
    """Run the pooler until no work waits; how many passes did something."""
    passes = 0
    while await t.pooler.apply_next():
        passes += 1
    return passes


async def pooled(t: Territory, slug: str = POOL) -> tuple[dict[str, object], list[dict[str, str]]]:
    """The pool's description and its newest version's rows, read from the published file."""
    async with t.sessions() as session:
        pool = await session.scalar(select(Pool).where(Pool.slug == slug))
        assert pool is not None
        detail = await views.detail(session, pool, PUBLIC_URL)
        latest = detail["versions"][0]  # type: ignore[index]
        version = await session.get(Version, uuid.UUID(latest["version_id"]))
        assert version is not None
        assert version.public
        data = await t.store.get_bytes(version.object_key)
    return detail, list(csv.DictReader(io.StringIO(data.decode())))


def by_org(rows: list[dict[str, str]]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for row in rows:
        found.setdefault(row["_organisation"], []).append(row["referenceDecision"])
    return found


async def test_a_territory_pools_its_subsidies_step_by_step(territory: Territory) -> None:
    t = territory
    release = uuid.uuid4()
    roques = [subsidy("roques", n) for n in (1, 2)]
    # Labège sent one row twice: the pool keeps it once.
    labege = [subsidy("labege", n, fields=FIELDS_200) for n in (1, 1, 2)]
    sicoval = [subsidy("sicoval", n) for n in (1, 2, 3)]
    await publish(t, "roques", "subventions-roques", roques)
    await publish(t, "labege", "subventions-labege", labege, version="2.0.0")
    await publish(t, "sicoval", "subventions-sicoval", sicoval, release=release)
    # Invalid files and other schemas never enter.
    await publish(t, "escalquens", "subventions-escalquens", roques, valid=False)
    assert await settle(t) >= 1

    # Step 1: Roques and Labège (on 2.0.0, its missing field empty), not the embargoed Sicoval.
    detail, rows = await pooled(t)
    assert by_org(rows) == {"labege": ["DEL-labege-1", "DEL-labege-2"], "roques": roques_refs()}
    assert list(rows[0]) == FIELDS_211 + list(pooled_rows.PROVENANCE)
    labege_row = next(r for r in rows if r["_organisation"] == "labege")
    assert labege_row["dispositifAide"] == ""
    assert labege_row["_organisation_nom"] == "Labège"
    assert labege_row["_siren"] == "213102542"
    assert labege_row["_jeu_de_donnees"] == "subventions-labege"
    assert labege_row["_telechargement"] == (
        f"{PUBLIC_URL}/api/v1/versions/{labege_row['_version']}/download"
    )
    assert labege_row["objet"] == "Objet 1, « fête »"
    assert detail["contributing"] == ["labege", "roques"]
    assert detail["not_contributing"] == ["escalquens", "haute-garonne", "sicoval"]
    first = detail["versions"][-1]  # type: ignore[index]
    assert first["number"] == 1
    assert {c["organization"]: (c["added"], c["removed"]) for c in first["changes"]} == {
        "roques": (2, 0),
        "labege": (2, 0),
    }
    # The Sicoval's own pool holds the same communes' files (it is a territory too).
    sicoval_detail, sicoval_rows = await pooled(t, f"sicoval--{SCHEMA}")
    assert by_org(sicoval_rows) == by_org(rows)

    # Step 2: the release opens; the Sicoval's rows enter then, not before.
    async with t.sessions.begin() as session:
        await visibility.record_opening(session, opened(release))
        for changed in await visibility.apply_due(session, public_url=PUBLIC_URL):
            await HOOKS.dataset_changed(session, changed)
    assert await settle(t) >= 1
    detail, rows = await pooled(t)
    assert sorted(by_org(rows)) == ["labege", "roques", "sicoval"]
    assert len(by_org(rows)["sicoval"]) == 3
    step = detail["versions"][0]  # type: ignore[index]
    assert step["number"] == 2
    assert [(c["organization"], c["added"], c["removed"]) for c in step["changes"]] == [
        ("sicoval", 3, 0)
    ]

    # Step 3: Roques republishes (one row changed, one added); only its rows are redone.
    await publish(t, "roques", "subventions-roques", [subsidy("roques", n) for n in (1, 3, 4)])
    await settle(t)
    detail, rows = await pooled(t)
    assert by_org(rows)["roques"] == ["DEL-roques-1", "DEL-roques-3", "DEL-roques-4"]
    step = detail["versions"][0]  # type: ignore[index]
    assert step["number"] == 3
    assert [(c["organization"], c["added"], c["removed"]) for c in step["changes"]] == [
        ("roques", 3, 2)
    ]

    # Step 4: Labège withdraws its dataset; its rows leave.
    async with t.sessions.begin() as session:
        dataset = await datasets.get(session, "subventions-labege")
        await datasets.withdraw(session, dataset)
    await settle(t)
    detail, rows = await pooled(t)
    assert sorted(by_org(rows)) == ["roques", "sicoval"]
    step = detail["versions"][0]  # type: ignore[index]
    assert [(c["organization"], c["added"], c["removed"]) for c in step["changes"]] == [
        ("labege", 0, 2)
    ]
    assert detail["not_contributing"] == ["escalquens", "haute-garonne", "labege"]

    # Every version stays as it was: version 1's file still holds Labège and the old Roques.
    async with t.sessions() as session:
        pool = await session.scalar(select(Pool).where(Pool.slug == POOL))
        assert pool is not None
        assert pool.number == 4
        first_version = await session.get(Version, uuid.UUID(first["version_id"]))
        assert first_version is not None
        rows_kept = (
            await session.scalars(select(PoolRow.from_number).where(PoolRow.pool_id == pool.id))
        ).all()
    # Only the two newest versions' files are kept; version 1's is written again from the
    # rows when asked for, byte for byte (its published sha256 is checked).
    assert not await t.store.exists(first_version.object_key)
    assert await files.restore(t.sessions, t.store, first_version)
    old = list(
        csv.DictReader(io.StringIO((await t.store.get_bytes(first_version.object_key)).decode()))
    )
    assert by_org(old) == {"labege": ["DEL-labege-1", "DEL-labege-2"], "roques": roques_refs()}
    # Rows were written once each: 2 + 2 (v1), 3 (v2), 3 (v3).
    assert sorted(rows_kept) == [1, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    # Only the newest pooled version's rows are loaded for the row API; the older ones' files
    # stay (read above), their rows are not kept.
    async with t.sessions() as session:
        statuses = (
            await session.execute(
                select(PoolVersion.number, RowTable.status)
                .join(RowTable, RowTable.version_id == PoolVersion.version_id)
                .where(PoolVersion.pool_id == pool.id)
                .order_by(PoolVersion.number)
            )
        ).all()
    assert [tuple(s) for s in statuses] == [
        (1, "failed"),
        (2, "failed"),
        (3, "failed"),
        (4, "loading"),
    ]


def roques_refs() -> list[str]:
    return ["DEL-roques-1", "DEL-roques-2"]


def opened(release: uuid.UUID) -> events.ReleaseOpened:
    when = datetime(2020, 1, 1, tzinfo=UTC)
    return events.ReleaseOpened(
        source="test",
        release_id=release,
        organization="sicoval",
        title="Conseil communautaire",
        due_at=when,
        opened_at=when,
    )


async def test_a_burst_makes_one_version(territory: Territory) -> None:
    t = territory
    async with t.sessions.begin() as session:
        session.add(
            WebhookSubscription(
                url="https://reuser.example/hook",
                secret="s" * 32,
                scope="organization",
                value="haute-garonne",
            )
        )
    for org in ("roques", "labege", "escalquens"):
        await publish(t, org, f"subventions-{org}", [subsidy(org, 1)])
    await publish(t, "roques", "subventions-roques", [subsidy("roques", 2)])
    await settle(t)
    detail, rows = await pooled(t)
    assert [v["number"] for v in detail["versions"]] == [1]  # type: ignore[attr-defined]
    assert by_org(rows) == {
        "escalquens": ["DEL-escalquens-1"],
        "labege": ["DEL-labege-1"],
        "roques": ["DEL-roques-2"],
    }

    # A reuser following the département hears of the pooled version, once.
    async with t.sessions() as session:
        told = (await session.scalars(select(WebhookDelivery.payload))).all()
    assert [(p["dataset"], p["event"]) for p in told] == [(POOL, "dataset.opened")]

    # Pooled data is the platform's: the territory cannot upload into it.
    await publish(t, "haute-garonne", POOL, [subsidy("haute-garonne", 1)])
    async with t.sessions() as session:
        payloads = (
            await session.scalars(select(Outbox.payload).where(Outbox.type == "upload.rejected.v1"))
        ).all()
    assert [json.loads(p)["reason"] for p in payloads] == ["dataset-pooled"]


async def test_key_conflicts_are_reported_and_majors_pool_apart(territory: Territory) -> None:
    t = territory
    # A schema declaring a primary key: the same key in two communes' files is a conflict,
    # reported, both rows kept.
    key = ["referenceDecision"]
    for org in ("roques", "labege"):
        await publish(t, org, f"subventions-{org}", [subsidy(org, 1), subsidy(org, 2)], key=key)
    await settle(t)
    detail, rows = await pooled(t)
    assert len(rows) == 4
    assert detail["primary_key"] == key
    assert detail["conflicts"] == []
    await publish(t, "labege", "subventions-labege", [subsidy("roques", 1)], key=key)
    await settle(t)
    detail, rows = await pooled(t)
    assert detail["conflicts"] == ["DEL-roques-1"]
    assert [r["_organisation"] for r in rows if r["referenceDecision"] == "DEL-roques-1"] == [
        "labege",
        "roques",
    ]
    assert detail["versions"][0]["changes"][0]["conflicts"] == ["DEL-roques-1"]  # type: ignore[index]

    # A new major version may change what fields mean: its own pool, beside the first.
    await publish(t, "escalquens", "subventions-escalquens", [subsidy("e", 1)], version="3.0.0")
    await settle(t)
    detail, rows = await pooled(t, f"{POOL}--v3")
    assert by_org(rows) == {"escalquens": ["DEL-e-1"]}
    assert detail["major"] == 3
    assert "escalquens" not in by_org((await pooled(t))[1])


# The pooler as a process of its own, to be killed: one pass over the waiting work.
CHILD = """
import asyncio, sys
from pathlib import Path
from datacommune.catalog import features
from datacommune.catalog.pooling.worker import Pooler
from datacommune.shared.db import make_engine, make_sessionmaker
from datacommune.shared.settings import DatabaseSettings
from datacommune.shared.storage import LocalObjectStore

async def main() -> None:
    engine = make_engine(DatabaseSettings(url=sys.argv[1]))
    store = LocalObjectStore(Path(sys.argv[2]))
    await Pooler(make_sessionmaker(engine), store, public_url=sys.argv[3]).apply_next()

features.install()
asyncio.run(main())
"""


@pytest.mark.e2e
async def test_a_pooler_killed_mid_update_loses_and_duplicates_nothing(
    territory: Territory, catalog_url: str, tmp_path: Path
) -> None:
    t = territory
    await publish(t, "roques", "subventions-roques", [subsidy("roques", 1)])
    await settle(t)
    many = [subsidy("labege", n) for n in range(40_000)]
    await publish(t, "labege", "subventions-labege", many)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    child = await asyncio.create_subprocess_exec(
        *(sys.executable, "-c", CHILD, catalog_url, str(tmp_path / "files"), PUBLIC_URL),
        env={**os.environ, "TMPDIR": str(scratch)},
    )
    try:
        # Killed once it is reading Labège's file into the pool, before it can commit.
        deadline = time.monotonic() + 60
        while not list(scratch.glob("datacommune-pool-*/*.csv")):
            assert child.returncode is None, "the pooler ended before it was killed"
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)
    finally:
        child.send_signal(signal.SIGKILL)
        await child.wait()
    async with t.sessions() as session:
        numbers = (await session.scalars(select(PoolVersion.number))).all()
        assert sorted(numbers) == [1, 1], "the killed update committed something"
        assert await session.scalar(select(func.count()).select_from(PoolChange)) == 2

    # Restarted, it does the update once; a second pass finds nothing to do.
    assert await settle(t) == 2
    assert await settle(t) == 0
    detail, rows = await pooled(t)
    assert [v["number"] for v in detail["versions"]] == [2, 1]  # type: ignore[attr-defined]
    assert len(rows) == 40_001
    assert len({r["referenceDecision"] for r in rows}) == 40_001
    async with t.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(PoolChange)) == 0


async def test_pooled_data_in_dcat_and_data_package(territory: Territory) -> None:
    t = territory
    for org in ("roques", "labege"):
        await publish(t, org, f"subventions-{org}", [subsidy(org, 1)])
    await settle(t)
    async with t.sessions() as session:
        graph = await dcat.catalog(
            session,
            public_url=PUBLIC_URL,
            schemas_url=PUBLIC_URL,
            page=1,
            page_size=100,
            title="Catalogue",
        )
        dataset = await datasets.get(session, POOL)
        package = datapackage.describe(dataset, PUBLIC_URL, PUBLIC_URL, pooled=True)
    node = URIRef(f"{PUBLIC_URL}/api/v1/datasets/{POOL}")
    assert sorted(str(s) for s in graph.objects(node, PROV.wasDerivedFrom)) == [
        f"{PUBLIC_URL}/api/v1/datasets/subventions-labege",
        f"{PUBLIC_URL}/api/v1/datasets/subventions-roques",
    ]
    [resource] = package["resources"]
    names = [f["name"] for f in resource["schema"]["fields"]]
    assert names == FIELDS_211 + list(pooled_rows.PROVENANCE)


async def test_a_newer_minor_version_reshapes_what_is_pooled(territory: Territory) -> None:
    t = territory
    await publish(
        t,
        "labege",
        "subventions-labege",
        [subsidy("labege", 1, fields=FIELDS_200)],
        version="2.0.0",
    )
    await settle(t)
    _, rows = await pooled(t)
    assert list(rows[0]) == FIELDS_200 + list(pooled_rows.PROVENANCE)
    await publish(t, "roques", "subventions-roques", [subsidy("roques", 1)])
    await settle(t)
    detail, rows = await pooled(t)
    assert detail["schema_id"] == f"{SCHEMA}@2.1.1"
    assert list(rows[0]) == FIELDS_211 + list(pooled_rows.PROVENANCE)
    labege = next(r for r in rows if r["_organisation"] == "labege")
    assert labege["dispositifAide"] == ""
    assert labege["montant"] == "1001"
    assert labege["_jeu_de_donnees"] == "subventions-labege"

    # Two more versions: the first (before the new columns) is no longer kept, and is written
    # again as it was, with its old header, from rows that were never rewritten.
    for n in (2, 3):
        await publish(t, "roques", "subventions-roques", [subsidy("roques", n)])
        await settle(t)
    async with t.sessions() as session:
        first = await session.scalar(
            select(Version)
            .join(PoolVersion, PoolVersion.version_id == Version.id)
            .where(
                PoolVersion.number == 1,
                PoolVersion.pool_id == select(Pool.id).where(Pool.slug == POOL).scalar_subquery(),
            )
        )
    assert first is not None
    assert not await t.store.exists(first.object_key)
    assert await files.restore(t.sessions, t.store, first)
    again = list(csv.DictReader(io.StringIO((await t.store.get_bytes(first.object_key)).decode())))
    assert list(again[0]) == FIELDS_200 + list(pooled_rows.PROVENANCE)
    assert by_org(again) == {"labege": ["DEL-labege-1"]}


async def test_a_commune_moving_to_another_territory_moves_its_rows(territory: Territory) -> None:
    t = territory
    async with t.sessions.begin() as session:
        session.add(
            Organization(
                slug="muretain",
                name="Le Muretain",
                kind="epci",
                parent="haute-garonne",
                token_hash=tokens.hash_token("m"),
            )
        )
    for org in ("roques", "labege"):
        await publish(t, org, f"subventions-{org}", [subsidy(org, 1)])
    # The Muretain's own file: not pooled while no organization sits below it.
    await publish(t, "muretain", "subventions-muretain", [subsidy("muretain", 1)])
    await settle(t)
    assert sorted(by_org((await pooled(t, f"sicoval--{SCHEMA}"))[1])) == ["labege", "roques"]
    async with t.sessions() as session:
        assert await session.scalar(select(Pool.id).where(Pool.territory == "muretain")) is None

    # Roques joins the Muretain: it leaves the Sicoval's pool and enters the Muretain's, with
    # the Muretain's own file; the département's pool keeps every row, untouched.
    async with t.sessions.begin() as session:
        await organizations.move(session, "roques", "muretain")
    await settle(t)
    assert by_org((await pooled(t, f"sicoval--{SCHEMA}"))[1]) == {"labege": ["DEL-labege-1"]}
    assert sorted(by_org((await pooled(t, f"muretain--{SCHEMA}"))[1])) == ["muretain", "roques"]
    detail, rows = await pooled(t)
    assert sorted(by_org(rows)) == ["labege", "muretain", "roques"]
    assert detail["number"] == 1

    # A loop is refused.
    async with t.sessions.begin() as session:
        with pytest.raises(Conflict):
            await organizations.move(session, "haute-garonne", "roques")


async def test_a_file_gone_from_storage_does_not_stop_the_pool(territory: Territory) -> None:
    t = territory
    await publish(t, "roques", "subventions-roques", [subsidy("roques", 1)])
    await publish(t, "labege", "subventions-labege", [subsidy("labege", 1)])
    async with t.sessions() as session:
        lost = await session.scalar(
            select(Version.object_key)
            .join(Resource, Resource.id == Version.resource_id)
            .join(Dataset, Dataset.id == Resource.dataset_id)
            .where(Dataset.slug == "subventions-labege")
        )
    assert lost is not None
    await t.store.delete(lost)
    await settle(t)
    detail, rows = await pooled(t)
    assert by_org(rows) == {"roques": ["DEL-roques-1"]}
    assert detail["contributing"] == ["roques"]
