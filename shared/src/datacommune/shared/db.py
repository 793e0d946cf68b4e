"""Engine and sessionmaker factories for SQLite (embedded) and PostgreSQL (production)."""

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Dialect, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.types import TypeDecorator

from datacommune.shared import inline_sqlite
from datacommune.shared.settings import DatabaseSettings

READ_ONLY = "datacommune_read_only"


class UTCDateTime(TypeDecorator[datetime]):
    """An instant, always handed back aware and in UTC.

    PostgreSQL keeps the zone; SQLite drops it, which would give naive datetimes that Python
    then reads as local time. Every timestamp column of every service uses this type.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: give instants with their zone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def make_engine(settings: DatabaseSettings) -> AsyncEngine:
    """An async engine; on SQLite, one writer at a time without 'database is locked' failures."""
    url = make_url(settings.url)
    if url.get_backend_name() != "sqlite":
        return create_async_engine(
            url,
            echo=settings.echo,
            pool_pre_ping=True,
            pool_size=settings.pool_size,
            max_overflow=settings.max_overflow,
        )
    database = url.database or ":memory:"
    if database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    # Statements run on the event loop's thread (inline_sqlite says why and what never does).
    engine = create_async_engine(
        url, echo=settings.echo, async_creator=inline_sqlite.creator(database)
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # SQLAlchemy, not the driver, opens transactions, so that they can be IMMEDIATE: the
        # connection is made in autocommit mode (isolation_level None).
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A deferred transaction that later writes can fail at once with SQLITE_BUSY, so writers
        # take the lock up front and wait for it; readers never block anyone under WAL.
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that write; their objects stay readable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


def make_reader(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that only read: on SQLite they never wait for a writer's lock."""
    return async_sessionmaker(engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False)


def _insert(session: AsyncSession) -> Any:
    """The engine's INSERT, which knows ``ON CONFLICT`` (both dialects spell it alike)."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


async def upsert(
    session: AsyncSession,
    model: type[Any],
    values: dict[str, Any],
    *,
    keys: list[str],
    update: Callable[[Any], dict[str, Any]] | None = None,
) -> None:
    """Insert one row, or change the one with the same ``keys``: ``INSERT … ON CONFLICT DO
    UPDATE`` on both engines, one statement, so racing writers never both insert.

    ``update`` gives the new values from the row that was refused (``excluded``): a counter
    adds to itself; without it, every value but the keys is overwritten."""
    await upsert_all(
        session,
        model,
        [values],
        keys=keys,
        update=update or (lambda excluded: {k: excluded[k] for k in values if k not in keys}),
    )


async def upsert_all(
    session: AsyncSession,
    model: type[Any],
    rows: list[dict[str, Any]],
    *,
    keys: list[str],
    update: Callable[[Any], dict[str, Any]],
    returning: tuple[Any, ...] | None = None,
) -> list[Any]:
    """``upsert`` of many rows in one statement, in the order given (give them sorted, and
    writers lock shared rows in the same order); no two may have the same ``keys``
    (PostgreSQL refuses to change one row twice in a statement). With ``returning``, those
    columns of every row written."""
    statement = _insert(session)(model).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=keys, set_=update(statement.excluded)
    )
    if returning is None:
        await session.execute(statement)
        return []
    return list((await session.execute(statement.returning(*returning))).all())


async def insert_ignoring(
    session: AsyncSession, model: type[Any], values: dict[str, Any], *, keys: list[str]
) -> bool:
    """Insert one row unless one with the same ``keys`` is there; True if it was inserted.

    ``INSERT … ON CONFLICT DO NOTHING`` on both engines: two transactions racing to insert the
    same key cannot both pass a read-then-write check and then fail on the unique index.
    """
    result = await session.execute(
        _insert(session)(model).values(**values).on_conflict_do_nothing(index_elements=keys)
    )
    return bool(getattr(result, "rowcount", 0))
