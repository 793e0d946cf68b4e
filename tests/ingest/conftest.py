"""ingest's database for the tests that apply events to it, on SQLite and on PostgreSQL: a
copy of the session's migrated template (``ingest_url``), with Roques and its dataset ``d``."""

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from datacommune.ingest.tables import Dataset, Organization
from datacommune.shared.db import make_engine, make_sessionmaker
from datacommune.shared.settings import DatabaseSettings


@pytest.fixture
async def sessionmaker(ingest_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(DatabaseSettings(url=ingest_url))
    made = make_sessionmaker(engine)
    async with made.begin() as session:
        session.add(Organization(slug="roques", name="Roques", token_hash="0" * 64))
        await session.flush()
        session.add(Dataset(slug="d", organization="roques"))
    yield made
    await engine.dispose()
