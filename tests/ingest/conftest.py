"""ingest's database for the tests that apply events to it, on SQLite and on PostgreSQL."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from datacommune.ingest.tables import Dataset, Organization
from datacommune.shared.db import make_engine, make_sessionmaker
from datacommune.shared.process.migrations import upgrade
from datacommune.shared.settings import DatabaseSettings

MIGRATIONS = (
    Path(__file__).resolve().parents[2] / "services/ingest/src/datacommune/ingest/migrations"
)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'ingest.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def sessionmaker(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """ingest's database, migrated, with Roques and its dataset ``d``."""
    await asyncio.to_thread(upgrade, MIGRATIONS, database_url)
    engine = make_engine(DatabaseSettings(url=database_url))
    made = make_sessionmaker(engine)
    async with made.begin() as session:
        session.add(Organization(slug="roques", name="Roques", token_hash="0" * 64))
        await session.flush()
        session.add(Dataset(slug="d", organization="roques"))
    yield made
    await engine.dispose()
