"""Run a service's Alembic history up to head before it serves."""

import asyncio
import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, MetaData, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

# The advisory lock migrations hold on PostgreSQL (any number, the same in every service).
LOCK = 0x6461746163  # "datac"


def alembic_config(script_location: Path, database_url: str) -> Config:
    """An Alembic config for one service's migrations folder and database."""
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(script_location: Path, database_url: str) -> None:
    """Bring the database to the newest revision (the env scripts are async)."""
    command.upgrade(alembic_config(script_location, database_url), "head")


def outside_models(name: str | None, type_: str) -> bool:
    """Objects no model describes: full-text indexes and their keys a migration makes by hand
    for one engine (search_vector on PostgreSQL, search_rowid on SQLite), and the tables of rows catalog creates for each tabular version (``rows_<hex>``)."""
    return bool(name) and (
        (type_ == "table" and str(name).startswith(("datasets_fts", "rows_")))
        or (type_ == "index" and str(name).startswith("ix_rows_"))
        or (
            type_ == "index" and str(name) in ("ix_datasets_search_fts", "ix_datasets_search_rowid")
        )
        or (type_ == "column" and str(name) in ("search_vector", "search_rowid"))
    )


def _include(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    return not outside_models(name, type_)


def run_env(target_metadata: MetaData) -> None:
    """The body of every service's ``env.py``: migrate online through the async engine."""
    from alembic import context

    # The service's own setting wins over the ini file, so that by-hand runs hit the same base.
    url = os.environ.get("DATABASE__URL") or context.config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url must be set"
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return

    def migrate(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            include_object=_include,
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # Replicas of a service start together: one migrates while the others wait,
                # then find the database at head (the version is read after the lock).
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK})
            context.run_migrations()

    async def run() -> None:
        engine = create_async_engine(url, poolclass=NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(migrate)
            await connection.commit()
        await engine.dispose()

    asyncio.run(run())
