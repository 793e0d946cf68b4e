"""Each service's Alembic history builds exactly its models, on SQLite and on PostgreSQL."""

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, MetaData

from datacommune.catalog.tables import Base as CatalogBase
from datacommune.events.tables import Base as EventsBase
from datacommune.ingest.tables import Base as IngestBase
from datacommune.shared.db import make_engine
from datacommune.shared.migrations import outside_models, upgrade
from datacommune.shared.settings import DatabaseSettings
from datacommune.validate.tables import Base as ValidateBase

ROOT = Path(__file__).resolve().parents[1] / "services"
SERVICES = {
    "ingest": IngestBase.metadata,
    "validate": ValidateBase.metadata,
    "catalog": CatalogBase.metadata,
    "events": EventsBase.metadata,
}


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.mark.parametrize("service", sorted(SERVICES))
async def test_migrations_match_the_models(service: str, database_url: str) -> None:
    migrations = ROOT / service / "src" / "datacommune" / service / "migrations"
    import asyncio

    await asyncio.to_thread(upgrade, migrations, database_url)
    metadata: MetaData = SERVICES[service]

    def diff(connection: Connection) -> list[object]:
        context = MigrationContext.configure(
            connection, opts={"include_object": lambda o, n, t, r, c: not outside_models(n, t)}
        )
        return list(compare_metadata(context, metadata))

    engine = make_engine(DatabaseSettings(url=database_url))
    async with engine.connect() as conn:
        assert await conn.run_sync(diff) == []
    await engine.dispose()
