"""Processor time of one SQLAlchemy statement on SQLite: the services' inline connection
(``shared/inline_sqlite.py``) against aiosqlite's thread, with plain synchronous SQLAlchemy as
the floor, interleaved in one process.

A table of 1,000 rows keyed by text; each side runs LOOKUPS ORM lookups by key in one session,
then LOOKUPS / 4 write transactions (BEGIN IMMEDIATE, one lookup, an UPDATE, COMMIT with the
disk synced, as every service's engine does), in turn A, B, C, A, B, C… for ROUNDS rounds.
Printed: the median processor ms per lookup and per transaction, and the ratio to aiosqlite.

    .venv/bin/python bench/sqlite_statements.py [--lookups 2000] [--rounds 5]
"""

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import String, create_engine, event, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from datacommune.shared.db import make_engine
from datacommune.shared.settings import DatabaseSettings


class Base(DeclarativeBase):
    pass


class Row(Base):
    __tablename__ = "rows"
    slug: Mapped[str] = mapped_column(String, primary_key=True)
    owner: Mapped[str] = mapped_column(String)


def threaded(path: Path) -> AsyncEngine:
    """The engine as it was: aiosqlite, its thread, the same pragmas and IMMEDIATE writers."""
    engine = create_async_engine(f"sqlite+aiosqlite:///{path}", connect_args={"timeout": 30})

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection):  # type: ignore[no-untyped-def]
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


async def side(engine: AsyncEngine, lookups: int) -> tuple[float, float]:
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions() as session:
        began = time.process_time()
        for i in range(lookups):
            await session.scalar(select(Row.owner).where(Row.slug == f"s{i % 1000}"))
        lookup = (time.process_time() - began) / lookups
    writes = lookups // 4
    began = time.process_time()
    for i in range(writes):
        async with sessions.begin() as session:
            await session.scalar(select(Row.owner).where(Row.slug == f"s{i % 1000}"))
            await session.execute(update(Row).where(Row.slug == f"s{i % 1000}").values(owner="x"))
    return lookup * 1000, (time.process_time() - began) / writes * 1000


def synchronous(path: Path, lookups: int) -> tuple[float, float]:
    engine = create_engine(f"sqlite:///{path}")
    with Session(engine) as session:
        began = time.process_time()
        for i in range(lookups):
            session.scalar(select(Row.owner).where(Row.slug == f"s{i % 1000}"))
        lookup = (time.process_time() - began) / lookups
    writes = lookups // 4
    began = time.process_time()
    for i in range(writes):
        with Session(engine) as session, session.begin():
            session.scalar(select(Row.owner).where(Row.slug == f"s{i % 1000}"))
            session.execute(update(Row).where(Row.slug == f"s{i % 1000}").values(owner="x"))
    engine.dispose()
    return lookup * 1000, (time.process_time() - began) / writes * 1000


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        setup = create_engine(f"sqlite:///{path}")
        Base.metadata.create_all(setup)
        with Session(setup) as session, session.begin():
            session.add_all(Row(slug=f"s{i}", owner="o") for i in range(1000))
        setup.dispose()
        inline = make_engine(DatabaseSettings(url=f"sqlite+aiosqlite:///{path}"))
        thread = threaded(path)

        async def run_sync() -> tuple[float, float]:
            return synchronous(path, args.lookups)

        sides: dict[str, Callable[[], Awaitable[tuple[float, float]]]] = {
            "aiosqlite thread (before)": lambda: side(thread, args.lookups),
            "inline (the services)": lambda: side(inline, args.lookups),
            "synchronous SQLAlchemy": run_sync,
        }
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
        print(f"load average at start: {os.getloadavg()[0]:.2f}")
        for _ in range(args.rounds):
            for name, run in sides.items():
                results[name].append(await run())
        print(f"load average at end: {os.getloadavg()[0]:.2f}")
        await inline.dispose()
        await thread.dispose()
    base = statistics.median(r[0] for r in results["aiosqlite thread (before)"])
    base_tx = statistics.median(r[1] for r in results["aiosqlite thread (before)"])
    print(f"medians of {args.rounds} rounds, processor ms:")
    print(f"  {'side':28}{'per lookup':>12}{'per write transaction':>24}")
    for name, runs in results.items():
        lookup = statistics.median(r[0] for r in runs)
        write = statistics.median(r[1] for r in runs)
        print(
            f"  {name:28}{lookup:12.3f}{write:16.3f}"
            f"   (x{base / lookup:.2f}, x{base_tx / write:.2f} vs aiosqlite)"
        )


if __name__ == "__main__":
    asyncio.run(main())
