"""SQLite run on the event loop's thread never holds the loop: not for a lock, not for a long
read, and it keeps SQLite's transactions as they were."""

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Integer, String, select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from datacommune.shared import inline_sqlite
from datacommune.shared.db import make_engine, make_reader, make_sessionmaker
from datacommune.shared.settings import DatabaseSettings


class _Base(DeclarativeBase):
    pass


class Note(_Base):
    __tablename__ = "notes"
    n: Mapped[int] = mapped_column(Integer, primary_key=True)
    who: Mapped[str] = mapped_column(String)


# Counts to three million: a few hundred milliseconds of SQLite work.
SLOW_COUNT = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) "
    "SELECT count(*) FROM c"
)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}"))
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE notes (n INTEGER PRIMARY KEY, who TEXT)"))
    yield engine
    await engine.dispose()


class Ticker:
    """Counts the loop's turns every 10 ms while running: a held loop stops counting."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            self.longest = max(self.longest, now - last)
            last = now

    async def __aenter__(self) -> "Ticker":
        self._task = asyncio.create_task(self._run())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def test_a_writer_waits_for_another_writer_of_the_same_loop(engine: AsyncEngine) -> None:
    sessions = make_sessionmaker(engine)
    order: list[str] = []

    async def first() -> None:
        async with sessions.begin() as session:
            await session.execute(text("INSERT INTO notes (who) VALUES ('first')"))
            await asyncio.sleep(0.3)  # holding the write lock, the loop free
            order.append("first")

    async def second() -> None:
        await asyncio.sleep(0.05)
        async with sessions.begin() as session:  # BEGIN IMMEDIATE waits for first's commit
            await session.execute(text("INSERT INTO notes (who) VALUES ('second')"))
            order.append("second")

    async with Ticker() as ticker:
        await asyncio.wait_for(asyncio.gather(first(), second()), 10)
    assert order == ["first", "second"]
    assert ticker.longest < 0.1
    async with make_reader(engine)() as session:
        assert (await session.scalar(text("SELECT count(*) FROM notes"))) == 2


async def test_a_writer_waits_for_another_process_without_holding_the_loop(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    held = threading.Event()

    def other_program() -> None:
        connection = sqlite3.connect(tmp_path / "inline.db", isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("INSERT INTO notes (who) VALUES ('other')")
        held.set()
        time.sleep(0.4)
        connection.execute("COMMIT")
        connection.close()

    thread = threading.Thread(target=other_program)
    thread.start()
    held.wait(5)
    began = time.perf_counter()
    async with Ticker() as ticker:
        async with make_sessionmaker(engine).begin() as session:
            await session.execute(text("INSERT INTO notes (who) VALUES ('ours')"))
    thread.join()
    assert time.perf_counter() - began > 0.2  # it did wait for the lock
    assert ticker.longest < 0.1


async def test_a_slow_read_leaves_the_loop_and_sees_its_own_transaction(
    engine: AsyncEngine,
) -> None:
    async with Ticker() as ticker, make_sessionmaker(engine).begin() as session:
        await session.execute(text("INSERT INTO notes (who) VALUES ('uncommitted')"))
        assert (await session.scalar(text(SLOW_COUNT))) == 3_000_000
        # The interrupted read did not end the transaction: its row is still there, and kept.
        assert (await session.scalar(text("SELECT count(*) FROM notes"))) == 1
    # Held for less than a third of what the read takes alone (measured now, so that a busy
    # machine, which slows both, does not fail the test): it went on in the worker.
    began = time.perf_counter()
    sqlite3.connect(":memory:").execute(SLOW_COUNT).fetchone()
    assert ticker.longest < max(0.1, (time.perf_counter() - began) / 3)
    async with make_reader(engine)() as reader:
        assert (await reader.scalar(text("SELECT who FROM notes"))) == "uncommitted"


async def test_a_failing_statement_raises_the_driver_error(engine: AsyncEngine) -> None:
    from sqlalchemy.exc import IntegrityError

    async with make_sessionmaker(engine).begin() as session:
        await session.execute(text("INSERT INTO notes (n, who) VALUES (1, 'a')"))
    with pytest.raises(IntegrityError):
        async with make_sessionmaker(engine).begin() as session:
            await session.execute(text("INSERT INTO notes (n, who) VALUES (1, 'b')"))
    async with make_reader(engine)() as reader:
        assert (await reader.scalar(text("SELECT who FROM notes"))) == "a"


@pytest.mark.parametrize(
    ("statement", "reads"),
    [
        ("SELECT 1", True),
        ("  select x from t", True),
        ("WITH a AS (SELECT 1) SELECT * FROM a", True),
        ("WITH a AS (SELECT 1) DELETE FROM t WHERE x IN a", False),
        ("INSERT INTO t VALUES (1)", False),
        ("", False),
    ],
)
def test_only_reads_are_moved_to_a_thread(statement: str, reads: bool) -> None:
    assert inline_sqlite._reads(statement) is reads


async def test_a_cancelled_slow_read_lets_the_next_writer_in(engine: AsyncEngine) -> None:
    """The read goes on in the worker after its task is cancelled: the connection waits for it
    before closing, and closing gives the write lock back."""
    sessions = make_sessionmaker(engine)

    async def slow() -> None:
        async with sessions.begin() as session:
            await session.execute(text("INSERT INTO notes (who) VALUES ('cancelled')"))
            await session.scalar(text(SLOW_COUNT))

    for _ in range(3):
        task = asyncio.create_task(slow())
        await asyncio.sleep(0.05)  # the read is in the worker by now
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        began = time.perf_counter()
        async with sessions.begin() as session:
            await session.execute(text("INSERT INTO notes (who) VALUES ('next')"))
        assert time.perf_counter() - began < 2
    async with make_reader(engine)() as reader:
        assert (await reader.scalar(text("SELECT group_concat(who) FROM notes"))) == (
            "next,next,next"
        )


async def test_a_stale_snapshot_fails_at_once(engine: AsyncEngine) -> None:
    """A read transaction that writes after another writer committed can never succeed: it
    is not waited out for 30 s."""
    from sqlalchemy.exc import OperationalError

    async with make_reader(engine)() as reading:
        await reading.scalar(text("SELECT count(*) FROM notes"))
        async with make_sessionmaker(engine).begin() as writing:
            await writing.execute(text("INSERT INTO notes (who) VALUES ('w')"))
        began = time.perf_counter()
        with pytest.raises(OperationalError):
            await reading.execute(text("INSERT INTO notes (who) VALUES ('r')"))
        assert time.perf_counter() - began < 1


async def test_bulk_writes_and_streams_run_in_the_worker(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What can take long whatever the statement — many rows written, rows read a batch at a
    time — is done by the worker, not on the loop's thread."""
    threads: dict[str, set[str]] = {}
    in_worker = inline_sqlite.InlineConnection.in_worker

    async def spied(
        connection: inline_sqlite.InlineConnection, call: Any, *args: Any, reads: bool = False
    ) -> Any:
        def run(*given: Any) -> Any:
            threads.setdefault(call.__name__, set()).add(threading.current_thread().name)
            return call(*given)

        return await in_worker(connection, run, *args, reads=reads)

    monkeypatch.setattr(inline_sqlite.InlineConnection, "in_worker", spied)
    rows = [{"who": f"note {i}"} for i in range(3000)]
    async with make_sessionmaker(engine).begin() as session:
        await session.execute(text("INSERT INTO notes (who) VALUES (:who)"), rows)
    async with make_reader(engine)() as session:
        result = await session.stream(
            select(Note.who).order_by(Note.n).execution_options(yield_per=500)
        )
        seen = [who async for who in result.scalars()]
    assert seen == [r["who"] for r in rows]
    assert "executemany" in threads
    assert "fetchmany" in threads
    assert all(name.startswith("sqlite") for names in threads.values() for name in names)


async def test_a_write_that_held_the_loop_runs_in_the_worker_next_time(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inline_sqlite, "SLOW", 0.0)  # every write "held the loop too long"
    monkeypatch.setattr(inline_sqlite, "_slow_statements", set())
    sent: list[str] = []
    in_worker = inline_sqlite.InlineConnection.in_worker

    async def spied(
        connection: inline_sqlite.InlineConnection, call: Any, *args: Any, reads: bool = False
    ) -> Any:
        sent.extend(a for a in args[:1] if isinstance(a, str))
        return await in_worker(connection, call, *args, reads=reads)

    monkeypatch.setattr(inline_sqlite.InlineConnection, "in_worker", spied)
    update = "UPDATE notes SET who = 'x' WHERE n < 0"
    for worker_expected in (False, True):
        sent.clear()
        async with make_sessionmaker(engine).begin() as session:
            await session.execute(text(update))
        assert (update in sent) is worker_expected
