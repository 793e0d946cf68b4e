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


async def test_search_counts_and_title_words_are_built_from_an_existing_catalogue(
    database_url: str,
) -> None:
    """0027-0028: a catalogue indexed before them gets its search counts (as reindex keeps
    them) and its titles' words, and its searches answer from them at once."""
    import asyncio
    import uuid
    from datetime import UTC, datetime, timedelta

    import sqlalchemy as sa
    from alembic import command

    from datacommune.catalog import search
    from datacommune.catalog.tables import SearchCount
    from datacommune.shared.db import make_sessionmaker
    from datacommune.shared.process.migrations import alembic_config

    migrations = ROOT / "catalog" / "src" / "datacommune" / "catalog" / "migrations"
    await asyncio.to_thread(command.upgrade, alembic_config(migrations, database_url), "0026")
    now = datetime.now(UTC)
    datasets = sa.table(
        "datasets",
        *(sa.column(n) for n in ("slug", "organization", "title", "description", "theme")),
        *(sa.column(n) for n in ("licence", "search_text", "facet_values", "public")),
        sa.column("id", sa.Uuid()),
        sa.column("keywords", sa.JSON()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    facets = sa.table(
        "dataset_facets", sa.column("facet"), sa.column("value"), sa.column("dataset_id", sa.Uuid())
    )
    organizations = sa.table(
        "organizations",
        *(sa.column(n) for n in ("slug", "name", "kind", "token_hash")),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    rows = []
    # Two public budgets (one names it in its title only through its description), and one
    # embargoed dataset, which counts nowhere.
    for n, (title, description, public) in enumerate(
        [
            ("Budget primitif", "", True),
            ("Comptes", "Le budget de la commune", True),
            ("Budget annexe", "", False),
        ]
    ):
        text = " ".join(search.words(f"{title} {description} Roques"))
        rows.append(
            {
                "id": uuid.uuid4(),
                "slug": f"jeu-{n}",
                "organization": "roques",
                "title": title,
                "description": description,
                "theme": "ECON",
                "licence": "etalab-2.0",
                "search_text": text,
                "facet_values": "" if public else None,
                "public": public,
                "keywords": [],
                "created_at": now,
                "updated_at": now - timedelta(minutes=n),
            }
        )
    engine = make_engine(DatabaseSettings(url=database_url))
    async with engine.begin() as conn:
        await conn.execute(
            organizations.insert(),
            [
                {
                    "slug": "roques",
                    "name": "Roques",
                    "kind": "commune",
                    "token_hash": "0" * 64,
                    "created_at": now,
                }
            ],
        )
        await conn.execute(datasets.insert(), rows)
        for row in rows[:2]:
            await conn.execute(
                facets.insert(),
                [
                    {"facet": f, "value": v, "dataset_id": row["id"]}
                    for f, v in (
                        ("organization", "roques"),
                        ("theme", "ECON"),
                        ("licence", "etalab-2.0"),
                    )
                ],
            )
            if conn.dialect.name == "sqlite":
                await conn.execute(
                    sa.text("INSERT INTO datasets_fts (dataset_id, search_text) VALUES (:i, :t)"),
                    {"i": row["id"].hex, "t": row["search_text"]},
                )
    await asyncio.to_thread(upgrade, migrations, database_url)
    async with make_sessionmaker(engine)() as session:
        counted = {
            (t, f, v): c
            for t, f, v, c in await session.execute(
                sa.select(SearchCount.term, SearchCount.facet, SearchCount.value, SearchCount.count)
            )
        }
        found = await search.find(session, search.Query(q="budget"))
        listed = [d.slug for d in await search.load(session, found.ids)]
    await engine.dispose()
    assert counted[("", "", "")] == 2
    assert counted[("", "theme", "ECON")] == 2
    assert counted[("w:budget", "", "")] == 2
    assert counted[("f:theme=ECON", "organization", "roques")] == 2
    assert ("w:annex", "", "") not in counted  # the embargoed dataset's own word
    # Found by its title first, then by its description; counted from the counts.
    assert listed == ["jeu-0", "jeu-1"]
    assert (found.total, found.facets["theme"]) == (2, [{"value": "ECON", "count": 2}])
