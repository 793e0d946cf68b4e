"""SQLite for the async engine without a thread hop per call.

aiosqlite runs every call (cursor, execute, fetch, close, commit) in a thread of its own and
wakes the event loop for each answer: 0.74 ms of processor time for a lookup through the ORM,
0.25 ms here, 0.17 ms with synchronous SQLAlchemy (``bench/sqlite_statements.py``). A file
through the hub makes some 75 statements, so the hops were much of what a file cost
(docs/federation.md).

Here a statement runs on the event loop's own thread, which is what SQLite is good at: a
lookup by key takes microseconds. Three things must not block the loop, and do not:

- waiting for another writer's lock: SQLite's own busy wait would sleep in the loop's thread,
  and a writer of the same process holding the lock could then never finish. The connection
  has no busy timeout; a statement refused with ``SQLITE_BUSY`` is tried again after an
  asyncio sleep, for as long as the threaded driver's timeout waited (30 s);
- a long read (a search over a large catalogue): a ``SELECT`` that runs longer than
  ``SLOW_READ`` is interrupted and run again in a thread, in the same transaction, so it sees
  the same snapshot and the loop serves others meanwhile;
- the disk: a writing transaction commits in a thread (the commit is where SQLite syncs the
  log and sometimes checkpoints it).

The object handed to SQLAlchemy's ``sqlite+aiosqlite`` dialect (``async_creator``) offers the
part of aiosqlite's connection that the dialect calls.
"""

import asyncio
import re
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

# How long a read may hold the loop before it is moved to a thread.
SLOW_READ = 0.005
# How long a statement waits for another writer's lock, as the threaded driver did.
BUSY_TIMEOUT = 30.0
# SQLite calls the progress handler every so many virtual machine steps (a few microseconds).
_PROGRESS_STEPS = 2000


def _busy(error: sqlite3.OperationalError) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == sqlite3.SQLITE_BUSY


def _reads(statement: str) -> bool:
    """A statement that only reads: safe to interrupt and run again."""
    words = statement.split(None, 1)
    first = words[0].upper() if words else ""
    return first == "SELECT" or (first == "WITH" and not _WRITES.search(statement))


_WRITES = re.compile(r"\b(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


class InlineCursor:
    """A cursor whose rows are read when the statement runs, as SQLAlchemy's adapter does."""

    arraysize = 1

    def __init__(self, owner: "InlineConnection") -> None:
        self._owner = owner
        self._cursor = owner.sqlite.cursor()
        self._rows: list[Any] = []

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    async def __aenter__(self) -> "InlineCursor":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def execute(self, statement: str, parameters: Sequence[Any] = ()) -> "InlineCursor":
        if _reads(statement):
            self._rows = await self._owner.read(self._cursor, statement, parameters)
        else:
            await self._owner.patiently(self._cursor.execute, statement, parameters)
            if statement.lstrip()[:16].upper() == "BEGIN IMMEDIATE":
                self._owner.writing = True
            self._rows = self._cursor.fetchall() if self._cursor.description else []
        return self

    async def executemany(
        self, statement: str, parameters: Iterable[Sequence[Any]]
    ) -> "InlineCursor":
        await self._owner.patiently(self._cursor.executemany, statement, parameters)
        self._rows = []
        return self

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        count = size or self.arraysize
        taken, self._rows = self._rows[:count], self._rows[count:]
        return taken

    async def fetchall(self) -> list[Any]:
        taken, self._rows = self._rows, []
        return taken

    async def nextset(self) -> None:
        return None

    async def setinputsizes(self, *sizes: Any) -> None:
        return None

    async def close(self) -> None:
        self._rows = []
        self._cursor.close()


class _Opening:
    """What ``connection.cursor()`` gives: SQLAlchemy enters it with ``await __aenter__()``."""

    def __init__(self, owner: "InlineConnection") -> None:
        self._owner = owner

    async def __aenter__(self) -> InlineCursor:
        return InlineCursor(self._owner)


class InlineConnection:
    """One SQLite connection used from the event loop's thread (and, for slow reads and
    commits, from a worker thread while the loop waits for it: never two at once)."""

    def __init__(self, sqlite: sqlite3.Connection) -> None:
        self.sqlite = sqlite
        # True from BEGIN IMMEDIATE to the end of that transaction: its commit syncs the disk.
        self.writing = False

    # What SQLAlchemy's aiosqlite adapter reads.
    @property
    def _connection(self) -> sqlite3.Connection | None:
        return self.sqlite

    @property
    def isolation_level(self) -> str | None:
        return self.sqlite.isolation_level

    def cursor(self) -> _Opening:
        return _Opening(self)

    async def patiently(self, call: Callable[..., Any], *args: Any, in_thread: bool = False) -> Any:
        """``call(*args)``, tried again while another writer holds the lock."""
        deadline = time.monotonic() + BUSY_TIMEOUT
        pause = 0.001
        while True:
            try:
                return await asyncio.to_thread(call, *args) if in_thread else call(*args)
            except sqlite3.OperationalError as error:
                if not _busy(error) or time.monotonic() > deadline:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)

    async def read(self, cursor: sqlite3.Cursor, statement: str, parameters: Sequence[Any]) -> Any:
        """The rows of a ``SELECT``, read here if quick, else in a thread."""
        deadline = time.perf_counter() + SLOW_READ
        self.sqlite.set_progress_handler(lambda: time.perf_counter() > deadline, _PROGRESS_STEPS)
        try:
            return await self.patiently(self._rows_of, cursor, statement, parameters)
        except sqlite3.OperationalError as error:
            if getattr(error, "sqlite_errorcode", None) != sqlite3.SQLITE_INTERRUPT:
                raise
        finally:
            self.sqlite.set_progress_handler(None, 0)
        # Interrupted: a read changes nothing and its transaction stays open, so running it
        # again sees the same rows.
        return await self.patiently(self._rows_of, cursor, statement, parameters, in_thread=True)

    @staticmethod
    def _rows_of(cursor: sqlite3.Cursor, statement: str, parameters: Sequence[Any]) -> Any:
        return cursor.execute(statement, parameters).fetchall()

    async def commit(self) -> None:
        if self.writing:
            self.writing = False
            await asyncio.to_thread(self.sqlite.commit)
        else:
            self.sqlite.commit()

    async def rollback(self) -> None:
        self.writing = False
        self.sqlite.rollback()

    async def close(self) -> None:
        self.sqlite.close()

    def stop(self) -> None:
        self.sqlite.close()

    async def create_function(self, *args: Any, **kw: Any) -> None:
        self.sqlite.create_function(*args, **kw)


def creator(database: str) -> Callable[[], Any]:
    """The ``async_creator`` of an engine on the SQLite file ``database``."""

    async def connect() -> InlineConnection:
        # No busy timeout: waiting for the lock is done by ``patiently``, off the loop's thread.
        connection = sqlite3.connect(
            database,
            timeout=0,
            isolation_level=None,
            check_same_thread=False,
            detect_types=0,
        )
        return InlineConnection(connection)

    return connect
