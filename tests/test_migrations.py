"""Each service's Alembic history builds exactly its models, on SQLite and on PostgreSQL."""

import contextlib
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, MetaData

from datacommune.catalog.tables import Base as CatalogBase
from datacommune.events.tables import Base as EventsBase
from datacommune.ingest.tables import Base as IngestBase
from datacommune.shared.db import make_engine
from datacommune.shared.process.migrations import outside_models, upgrade
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


async def test_sqlite_rows_leave_catalog_s_database_and_are_loaded_again(tmp_path: Path) -> None:
    """0017: a catalogue that kept a table per version in its SQLite database drops them, and
    its loaded versions wait to be loaded into their own files."""
    import asyncio
    import sqlite3
    import uuid

    from alembic import command

    from datacommune.shared.process.migrations import alembic_config

    path = tmp_path / "catalog.db"
    config = alembic_config(
        ROOT / "catalog" / "src" / "datacommune" / "catalog" / "migrations",
        f"sqlite+aiosqlite:///{path}",
    )
    await asyncio.to_thread(command.upgrade, config, "0016")
    version = uuid.uuid4()
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute(f"CREATE TABLE rows_{version.hex} (_row INTEGER PRIMARY KEY, c0 TEXT)")
        db.execute(f"CREATE INDEX ix_rows_{version.hex}_c0 ON rows_{version.hex} (c0, _row)")
        # The version it belongs to is left out: foreign keys are not checked here.
        db.execute(
            "INSERT INTO row_tables (version_id, status, shape) VALUES (?, 'ready', '{}')",
            (version.hex,),
        )
    await asyncio.to_thread(command.upgrade, config, "head")
    with contextlib.closing(sqlite3.connect(path)) as db:
        names = [n for (n,) in db.execute("SELECT name FROM sqlite_master")]
        assert not [n for n in names if n.startswith(("rows_", "ix_rows_"))]
        assert "row_tables" in names
        assert db.execute("SELECT status FROM row_tables").fetchall() == [("pending",)]


async def test_versions_read_as_rows_learn_the_charset_of_their_bytes(tmp_path: Path) -> None:
    """0019: a version already loaded as rows takes its charset from how it was read; the
    others stay unknown (served without a charset rather than a guessed one)."""
    import asyncio
    import sqlite3
    import uuid

    from alembic import command

    from datacommune.shared.process.migrations import alembic_config

    path = tmp_path / "catalog.db"
    config = alembic_config(
        ROOT / "catalog" / "src" / "datacommune" / "catalog" / "migrations",
        f"sqlite+aiosqlite:///{path}",
    )
    await asyncio.to_thread(command.upgrade, config, "0018")
    read, unread = uuid.uuid4(), uuid.uuid4()
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        columns = [r for r in db.execute("PRAGMA table_info(versions)") if r[3] and r[1] != "id"]
        names = ", ".join(["id"] + [c[1] for c in columns])
        marks = ", ".join("?" * (len(columns) + 1))
        for version in (read, unread):
            # Every required column with a value of its type, unique where it must be; foreign
            # keys are not checked.
            values = [1 if "INT" in c[2] or "BOOL" in c[2] else version.hex for c in columns]
            db.execute(f"INSERT INTO versions ({names}) VALUES ({marks})", [version.hex, *values])
        db.execute(
            "INSERT INTO row_tables (version_id, status, shape) VALUES (?, 'ready', ?)",
            (read.hex, '{"encoding": "cp1252", "delimiter": ";", "fields": []}'),
        )
    await asyncio.to_thread(command.upgrade, config, "head")
    with contextlib.closing(sqlite3.connect(path)) as db:
        found = dict(db.execute("SELECT id, charset FROM versions"))
    assert found == {read.hex: "windows-1252", unread.hex: None}


@pytest.mark.e2e
def test_replicas_starting_together_migrate_once(postgres_url: str) -> None:
    """Three processes of a service started at the same moment on an empty PostgreSQL database
    (a deployment of replicas): one migrates, the others wait and find it at head."""
    import subprocess
    import sys

    migrations = ROOT / "catalog" / "src" / "datacommune" / "catalog" / "migrations"
    script = (
        "import sys; from pathlib import Path; "
        "from datacommune.shared.process.migrations import upgrade; "
        "upgrade(Path(sys.argv[1]), sys.argv[2])"
    )
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(migrations), postgres_url],
            stderr=subprocess.PIPE,
        )
        for _ in range(3)
    ]
    outcomes = []
    for run in runs:
        with run:
            _, errors = run.communicate(timeout=120)
            outcomes.append((run.returncode, errors.decode()[-2000:]))
    assert [code for code, _ in outcomes] == [0, 0, 0], outcomes
