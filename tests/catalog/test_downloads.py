"""Downloads are counted per version and per day, exactly, under concurrency, with no one's data."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from datacommune.catalog.core import downloads_count
from datacommune.catalog.tables import Dataset, Organization, Resource, Version
from datacommune.shared import tokens
from datacommune.shared.db import make_engine, make_sessionmaker
from datacommune.shared.settings import DatabaseSettings
from tests.platform import Running


@pytest.fixture
async def version(
    catalog_url: str,
) -> AsyncIterator[tuple[async_sessionmaker[AsyncSession], uuid.UUID]]:
    engine = make_engine(DatabaseSettings(url=catalog_url))
    sessionmaker = make_sessionmaker(engine)
    version_id = uuid.uuid4()
    async with sessionmaker.begin() as session:
        session.add(
            Organization(
                slug="roques", name="Roques", kind="commune", token_hash=tokens.hash_token("x")
            )
        )
        await session.flush()
        dataset = Dataset(slug="d", organization="roques", title="D")
        session.add(dataset)
        await session.flush()
        resource = Resource(dataset_id=dataset.id, key="r", title="r")
        session.add(resource)
        await session.flush()
        session.add(
            Version(
                id=version_id,
                resource_id=resource.id,
                number=1,
                upload_id=uuid.uuid4(),
                object_key="k",
                sha256="0" * 64,
                size=1,
                filename="f.csv",
                media_type="text/csv",
                valid=True,
                report_key="r",
            )
        )
    yield sessionmaker, version_id
    await engine.dispose()


async def test_concurrent_downloads_are_all_counted(
    version: tuple[async_sessionmaker[AsyncSession], uuid.UUID],
) -> None:
    sessionmaker, version_id = version

    async def one(day: date) -> None:
        async with sessionmaker.begin() as session:
            await downloads_count.count(session, version_id, day)

    await asyncio.gather(*(one(date(2026, 11, 26)) for _ in range(20)), one(date(2026, 11, 27)))
    async with sessionmaker() as session:
        assert await downloads_count.totals(session, [version_id]) == {version_id: 21}
        assert await downloads_count.per_day(session, version_id) == [
            {"day": "2026-11-26", "count": 20},
            {"day": "2026-11-27", "count": 1},
        ]
        columns = await session.run_sync(
            lambda s: [c["name"] for c in inspect(s.connection()).get_columns("download_counts")]
        )
    assert columns == ["version_id", "day", "count"]  # nothing about who downloaded


@pytest.mark.e2e
def test_downloads_through_the_api(embedded: Running) -> None:
    token = embedded.organization("compteur")
    upload = embedded.upload(token, b"a\n1\n", dataset="compteur-data")
    done = embedded.wait_status(token, upload.json()["id"], {"published"})
    for _ in range(3):
        assert httpx.get(done["download_url"]).status_code == 200
    version_id = done["download_url"].split("/versions/")[1].split("/")[0]
    counted = httpx.get(f"{embedded.url('catalog')}/api/v1/versions/{version_id}/downloads").json()
    assert counted["total"] == 3
