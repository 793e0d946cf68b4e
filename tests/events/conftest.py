"""A migrated events database, once on SQLite and once on PostgreSQL."""

from pathlib import Path

import pytest

from tests import servers


@pytest.fixture(params=["sqlite", "postgresql"])
async def events_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a fresh events database at the latest migration."""
    postgres = "" if request.param == "sqlite" else str(request.getfixturevalue("postgres_url"))
    return await servers.migrated_database("events", request.param, tmp_path, postgres)
