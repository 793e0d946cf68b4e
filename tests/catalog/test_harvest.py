"""Harvesting CKAN, OpenDataSoft and DCAT portals served locally, on SQLite and PostgreSQL:
create, leave unchanged, replace, mirror deletions — and never delete after a run that did not
see the whole source; every failure logged with its cause."""

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pyshacl
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from datacommune.catalog import search
from datacommune.catalog.core import datasets
from datacommune.catalog.harvest import http as harvest_http
from datacommune.catalog.harvest import runs, sources
from datacommune.catalog.interop import ckan, dcat
from datacommune.catalog.problems import HarvestRefused, HarvestRunning
from datacommune.catalog.tables import (
    Dataset,
    DatasetFacet,
    HarvestRun,
    Organization,
    RemoteResource,
)
from datacommune.shared import tokens
from datacommune.shared.db import make_engine, make_sessionmaker
from datacommune.shared.outbox import utcnow
from datacommune.shared.settings import DatabaseSettings
from tests.catalog.portals import Portal, ckan_package, dcat_dataset, ods_dataset, serve

PUBLIC_URL = "http://catalogue.test"
Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def sessions(catalog_url: str) -> AsyncIterator[Sessions]:
    engine = make_engine(DatabaseSettings(url=catalog_url))
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker.begin() as session:
        for slug in ("roques", "sicoval"):
            session.add(
                Organization(
                    slug=slug, name=slug.title(), kind="commune", token_hash=tokens.hash_token(slug)
                )
            )
    yield sessionmaker
    await engine.dispose()


@pytest.fixture
def portal() -> Iterator[Portal]:
    with serve(Portal()) as served:
        yield served


async def add_source(
    sessions: Sessions, kind: str, url: str, organization: str = "roques", **extra: Any
) -> uuid.UUID:
    async with sessions.begin() as session:
        source = await sources.create_source(
            session,
            organization,
            sources.SourceIn(kind=kind, url=url, **extra),
            allow_private=True,
        )
        return source.id


async def run(sessions: Sessions, source_id: uuid.UUID) -> HarvestRun:
    run_id = await runs.claim(sessions, source_id, due_only=False)
    assert run_id is not None
    fetcher = harvest_http.Fetcher(10, allow_private=True)
    return await runs.harvest(sessions, run_id, fetcher)


def counts(run_: HarvestRun) -> dict[str, int]:
    return sources.describe_run(run_)["counts"]  # type: ignore[no-any-return]


async def shown(sessions: Sessions, slug: str) -> dict[str, Any] | None:
    async with sessions() as session:
        found = await session.scalar(select(Dataset).where(Dataset.slug == slug))
        return datasets.describe(found, PUBLIC_URL, full=True) if found else None


async def found(sessions: Sessions, **query: Any) -> list[str]:
    async with sessions() as session:
        results = await search.find(session, search.Query(**query))
        return sorted(d.slug for d in await search.load(session, results.ids))


async def summaries_are_the_views(sessions: Sessions) -> None:
    """The search API's summaries (read with Core, in one statement) are the datasets' own
    views."""
    async with sessions() as session:
        listed = (await session.scalars(select(Dataset).order_by(Dataset.slug))).all()
        assert listed
        summaries = await datasets.summaries(session, [d.id for d in listed], PUBLIC_URL)
        assert summaries == [datasets.describe(d, PUBLIC_URL, full=False) for d in listed]


async def test_ckan_create_unchanged_update_and_mirrored_deletion(
    sessions: Sessions, portal: Portal
) -> None:
    portal.ckan = [ckan_package("budget-2024"), ckan_package("voirie"), ckan_package("ecoles")]
    source = await add_source(sessions, "ckan", f"{portal.base}/ckan/api/3")

    first = await run(sessions, source)
    assert first.status == "succeeded", first.error
    assert counts(first) == {"created": 3, "updated": 0, "unchanged": 0, "deleted": 0, "failed": 0}
    budget = await shown(sessions, "roques-budget-2024")
    assert budget is not None
    assert budget["title"] == "Budget 2024"
    assert budget["licence"] == "etalab-2.0"  # « lov2 » is CKAN's id for it
    assert budget["theme"] == "GOVE"
    assert budget["spatial"] == ["31458"]
    assert budget["temporal"]["start"] == "2024-01-01"
    assert budget["keywords"] == ["budget"]
    assert budget["updated_at"].startswith("2024-03-04T10:11:12")
    assert budget["harvested_from"]["kind"] == "ckan"
    assert budget["harvested_from"]["remote_id"] == "id-budget-2024"
    assert budget["harvested_from"]["remote_url"] == f"{portal.base}/ckan/dataset/id-budget-2024"
    [resource] = budget["resources"]
    assert resource["remote"] is True
    assert resource["download_url"] == "https://data.roques.example/files/budget-2024.csv"
    assert (resource["format"], resource["media_type"], resource["size"]) == (
        "csv",
        "text/csv",
        1234,
    )
    await summaries_are_the_views(sessions)
    # Found by its words and its files' format; shown by the CKAN API with the remote link.
    assert await found(sessions, q="budget 2024") == ["roques-budget-2024"]
    assert len(await found(sessions, format="csv")) == 3
    async with sessions() as session:
        facets = (await search.find(session, search.Query())).facets
        assert {"value": "csv", "count": 3} in facets["format"]
        dataset = await datasets.get(session, "roques-budget-2024")
        package = ckan.package_dict(dataset, None, PUBLIC_URL)
    assert package["resources"][0]["url"] == resource["download_url"]
    assert package["resources"][0]["format"] == "CSV"
    assert {"key": "harvest_source_id", "value": str(source)} in package["extras"]

    second = await run(sessions, source)
    assert counts(second) == {"created": 0, "updated": 0, "unchanged": 3, "deleted": 0, "failed": 0}

    # An update at the source replaces the dataset and its files.
    portal.ckan[1] = ckan_package(
        "voirie",
        "Travaux de voirie",
        metadata_modified="2024-06-01T00:00:00",
        resources=[
            {"id": "r2", "name": "Travaux", "url": "https://x.example/t.json", "format": "JSON"}
        ],
    )
    third = await run(sessions, source)
    assert counts(third) == {"created": 0, "updated": 1, "unchanged": 2, "deleted": 0, "failed": 0}
    voirie = await shown(sessions, "roques-voirie")
    assert voirie is not None
    assert voirie["title"] == "Travaux de voirie"
    assert [(r["download_url"], r["format"]) for r in voirie["resources"]] == [
        ("https://x.example/t.json", "json")
    ]
    assert voirie["updated_at"].startswith("2024-06-01")

    # A deletion at the source is mirrored: the dataset, its files and its facets go.
    del portal.ckan[0]
    fourth = await run(sessions, source)
    assert fourth.status == "succeeded"
    assert counts(fourth) == {"created": 0, "updated": 0, "unchanged": 2, "deleted": 1, "failed": 0}
    assert await shown(sessions, "roques-budget-2024") is None
    assert await found(sessions, q="budget 2024") == []
    async with sessions() as session:
        facets = (await search.find(session, search.Query())).facets
        assert {"value": "csv", "count": 1} in facets["format"]
        assert await session.scalar(select(func.count()).select_from(RemoteResource)) == 2
        left = await session.scalar(
            select(func.count()).select_from(DatasetFacet).where(DatasetFacet.value == "csv")
        )
        assert left == 1


async def test_opendatasoft_catalog_pages_and_filter(sessions: Sessions, portal: Portal) -> None:
    portal.ods = [ods_dataset(f"equipements-{i:03d}", f"Équipements {i}") for i in range(130)]
    source = await add_source(
        sessions, "opendatasoft", portal.base + "/ods", filter="records_count > 0"
    )
    done = await run(sessions, source)
    assert done.status == "succeeded", done.error
    assert counts(done)["created"] == 130
    # Two pages of 100, with the filter passed as OpenDataSoft's `where`.
    listed = [r for r in portal.requests if "/ods/" in r]
    assert len(listed) == 2
    assert all("where=records_count" in r for r in listed)
    item = await shown(sessions, "roques-equipements-007")
    assert item is not None
    assert item["licence"] == "odbl-1.0"
    assert item["description"] == "Les équipements & services\nde la commune."
    assert item["keywords"] == ["équipements", "sport"]
    assert item["temporal"]["start"] == "2023-01-01"
    exports = f"{portal.base}/ods/api/explore/v2.1/catalog/datasets/equipements-007/exports"
    assert [(r["format"], r["download_url"]) for r in item["resources"]] == [
        ("csv", f"{exports}/csv"),
        ("json", f"{exports}/json"),
        ("geojson", f"{exports}/geojson"),
    ]
    assert len(await found(sessions, format="geojson", limit=1000)) == 130
    assert await found(sessions, format="pdf") == []


@pytest.mark.parametrize("extension", ["jsonld", "ttl"])
async def test_dcat_follows_hydra_pages_and_validates(
    sessions: Sessions, portal: Portal, extension: str
) -> None:
    portal.dcat = [
        dcat_dataset("pistes-cyclables", "Pistes cyclables"),
        dcat_dataset("arrets-bus", "Arrêts de bus"),
        dcat_dataset("parkings", "Parkings"),
    ]
    source = await add_source(sessions, "dcat", f"{portal.base}/dcat/catalog.{extension}")
    done = await run(sessions, source)
    assert done.status == "succeeded", done.error
    assert counts(done)["created"] == 3
    assert any("page=2" in r for r in portal.requests)
    item = await shown(sessions, "roques-arrets-bus")
    assert item is not None
    assert item["title"] == "Arrêts de bus"  # the French title, of the two languages given
    assert item["theme"] == "TRAN"
    assert item["licence"] == "etalab-2.0"
    assert item["spatial"] == ["31458"]
    assert item["temporal"] == {"start": "2022-01-01", "end": "2022-12-31"}
    assert item["updated_at"].startswith("2024-02-03T04:05:06")
    assert [(r["media_type"], r["size"]) for r in item["resources"]] == [("text/csv", 99)]

    # Our own DCAT feed shows them, and still passes the DCAT-AP shapes.
    async with sessions() as session:
        graph = await dcat.catalog(
            session,
            public_url=PUBLIC_URL,
            schemas_url=PUBLIC_URL,
            page=1,
            page_size=100,
            title="Catalogue",
        )
    text = graph.serialize(format="turtle")
    assert "https://data.roques.example/files/arrets-bus.csv" in text
    conforms, _, report = pyshacl.validate(graph, shacl_graph=str(dcat.SHAPES), inference="none")
    assert conforms, report


async def test_a_run_that_fails_mid_way_deletes_nothing(sessions: Sessions, portal: Portal) -> None:
    portal.dcat = [dcat_dataset(f"jeu-{i}", f"Jeu {i}") for i in range(4)]
    source = await add_source(sessions, "dcat", f"{portal.base}/dcat/catalog.jsonld")
    assert counts(await run(sessions, source))["created"] == 4

    # Page 1 changes, one dataset is gone… and page 2 answers 500.
    portal.dcat = [dcat_dataset("jeu-0", "Jeu 0 modifié", modified="2025-01-01T00:00:00")]
    portal.dcat += [dcat_dataset(f"jeu-{i}", f"Jeu {i}") for i in (2, 3)]
    portal.fail["page=2"] = 500
    broken = await run(sessions, source)
    assert broken.status == "incomplete"
    assert broken.error is not None
    assert broken.error["code"] == "http-error"
    assert broken.error["status"] == 500
    assert broken.error["detail"]
    assert broken.error["detail_en"]
    assert counts(broken) == {"created": 0, "updated": 1, "unchanged": 1, "deleted": 0, "failed": 0}
    assert await shown(sessions, "roques-jeu-1") is not None  # not seen, but not deleted

    # Once the source answers again, the deletion is mirrored.
    del portal.fail["page=2"]
    healed = await run(sessions, source)
    assert healed.status == "succeeded"
    assert counts(healed)["deleted"] == 1
    assert await shown(sessions, "roques-jeu-1") is None


async def test_a_source_that_cannot_be_read_fails_with_one_cause(
    sessions: Sessions, portal: Portal
) -> None:
    portal.ckan = [ckan_package("budget")]
    source = await add_source(sessions, "ckan", f"{portal.base}/ckan")
    assert counts(await run(sessions, source))["created"] == 1

    portal.fail["package_search"] = 503
    failed = await run(sessions, source)
    assert failed.status == "failed"
    assert failed.error is not None
    assert (failed.error["code"], failed.error["status"]) == ("http-error", 503)
    assert counts(failed)["deleted"] == 0
    assert await shown(sessions, "roques-budget") is not None

    closed = await add_source(sessions, "ckan", "http://127.0.0.1:9/ckan", "sicoval")
    unreachable = await run(sessions, closed)
    assert unreachable.status == "failed"
    assert unreachable.error is not None
    assert unreachable.error["code"] == "unreachable"

    wrong_kind = await add_source(sessions, "opendatasoft", f"{portal.base}/dcat", "sicoval")
    unread = await run(sessions, wrong_kind)
    assert unread.error is not None
    assert unread.error["code"] == "http-error"


async def test_duplicates_are_logged_never_overwritten(sessions: Sessions, portal: Portal) -> None:
    async with sessions.begin() as session:
        mine = Dataset(slug="roques-budget", organization="roques", title="Budget publié ici")
        session.add(mine)
        await session.flush()
        await search.reindex(session, mine)
    portal.ckan = [ckan_package("budget"), ckan_package("voirie")]
    source = await add_source(sessions, "ckan", f"{portal.base}/ckan")
    done = await run(sessions, source)
    assert done.status == "succeeded"
    assert counts(done) == {"created": 1, "updated": 0, "unchanged": 0, "deleted": 0, "failed": 1}
    [failure] = done.failures
    assert failure["remote_id"] == "id-budget"
    assert failure["code"] == "duplicate"
    assert "roques-budget" in failure["detail"]
    assert "roques-budget" in failure["detail_en"]
    kept = await shown(sessions, "roques-budget")
    assert kept is not None
    assert kept["title"] == "Budget publié ici"
    assert kept["harvested_from"] is None

    # Another source listing the same remote datasets does not bring one twice (the one the
    # first source could not take is free to take).
    twin = await add_source(sessions, "ckan", f"{portal.base}/ckan/", "sicoval")
    again = await run(sessions, twin)
    assert counts(again)["created"] == 1
    [failure] = again.failures
    assert (failure["remote_id"], failure["code"]) == ("id-voirie", "duplicate")
    assert portal.base in failure["detail"]
    assert await shown(sessions, "sicoval-voirie") is None
    assert await shown(sessions, "sicoval-budget") is not None


async def test_a_malformed_record_is_logged_and_the_others_harvested(
    sessions: Sessions, portal: Portal
) -> None:
    portal.ckan = [
        ckan_package("bon"),
        ckan_package("sans-titre", title=""),
        ckan_package("date-fausse", metadata_modified="hier"),
        ckan_package("titre-liste", title=["a", "b"]),
        ckan_package("autre-bon"),
    ]
    source = await add_source(sessions, "ckan", f"{portal.base}/ckan")
    done = await run(sessions, source)
    assert done.status == "succeeded"
    assert counts(done)["created"] == 2
    assert counts(done)["failed"] == 3
    causes = {f["remote_id"]: f["code"] for f in done.failures}
    assert causes == {
        "id-sans-titre": "missing-title",
        "id-date-fausse": "malformed-record",
        "id-titre-liste": "malformed-record",
    }
    assert all(f["detail"] and f["detail_en"] for f in done.failures)
    assert await found(sessions) == ["roques-autre-bon", "roques-bon"]

    # A dataset harvested before and malformed now is kept: the source still lists it.
    portal.ckan[0] = ckan_package("bon", metadata_modified="jamais")
    later = await run(sessions, source)
    assert counts(later)["deleted"] == 0
    assert await shown(sessions, "roques-bon") is not None


async def test_one_run_at_a_time_and_deleting_a_source_removes_its_datasets(
    sessions: Sessions, portal: Portal
) -> None:
    portal.ckan = [ckan_package("budget")]
    source = await add_source(sessions, "ckan", f"{portal.base}/ckan")
    first = await runs.claim(sessions, source, due_only=False)
    assert first is not None
    # Another replica (or another click) gets nothing while the lease is held.
    assert await runs.claim(sessions, source, due_only=False) is None
    async with sessions.begin() as session:
        with pytest.raises(HarvestRunning):
            await sources.delete_source(
                session, await sources.get_source(session, "roques", source)
            )
    await runs.harvest(sessions, first, harvest_http.Fetcher(10, allow_private=True))
    # Done: not due before its interval, but free to run now.
    assert await runs.claim(sessions, source, due_only=True) is None
    async with sessions() as session:
        assert await sources.due(sessions, utcnow()) == []
        assert [r.status for r in await sources.last_runs(session, source)] == ["succeeded"]
    async with sessions.begin() as session:
        removed = await sources.delete_source(
            session, await sources.get_source(session, "roques", source)
        )
    assert removed == 1
    assert await shown(sessions, "roques-budget") is None


async def test_private_addresses_are_refused_unless_allowed(sessions: Sessions) -> None:
    for url in (
        "http://127.0.0.1/ckan",
        "http://10.0.0.8/",
        "file:///etc/passwd",
        "ftp://x.fr/",
        "http://[64:ff9b::7f00:1]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[2002:a9fe:a9fe::1]/",
        "http://[2001::53aa:64c:7fff:fffe]/",
        "http://x.fr:99999/",
    ):
        async with sessions.begin() as session:
            with pytest.raises(HarvestRefused) as refused:
                await sources.create_source(
                    session,
                    "roques",
                    sources.SourceIn(kind="ckan", url=url),
                    allow_private=False,
                )
        assert refused.value.detail
        assert refused.value.detail_en
    # And at fetch time, redirects included.
    fetcher = harvest_http.Fetcher(10, allow_private=False)
    with pytest.raises(harvest_http.SourceError) as refused_fetch:
        await fetcher.get("http://127.0.0.1:9/")
    assert refused_fetch.value.code == "refused-address"


async def test_a_page_over_the_size_limit_is_refused(sessions: Sessions, portal: Portal) -> None:
    portal.ckan = [ckan_package(f"jeu-{i}") for i in range(20)]
    fetcher = harvest_http.Fetcher(10, allow_private=True, max_bytes=2000)
    with pytest.raises(harvest_http.SourceError) as too_large:
        await fetcher.get(f"{portal.base}/ckan/api/3/action/package_search")
    redirected, _ = await harvest_http.Fetcher(10, allow_private=True).get(f"{portal.base}/moved")
    assert too_large.value.code == "too-large"
    assert json.loads(redirected)["result"]["count"] == 20  # the redirect was followed
