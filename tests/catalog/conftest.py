"""A migrated catalog database, once on SQLite and once on PostgreSQL."""

import asyncio
from pathlib import Path

import pytest

from datacommune.shared.migrations import upgrade

MIGRATIONS = (
    Path(__file__).resolve().parents[2] / "services/catalog/src/datacommune/catalog/migrations"
)


@pytest.fixture(params=["sqlite", "postgresql"])
async def catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a fresh catalog database at the latest migration."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'catalog.db'}"
    else:
        url = str(request.getfixturevalue("postgres_url"))
    await asyncio.to_thread(upgrade, MIGRATIONS, url)
    return url
