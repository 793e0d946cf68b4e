"""SQLite for the async engine without a thread hop per call.

aiosqlite runs every call (cursor, execute, fetch, close, commit) in a thread of its own and
wakes the event loop for each answer: 0.82 ms of processor time for a lookup through the ORM,
0.29 ms here, 0.19 ms with synchronous SQLAlchemy (``bench/sqlite_statements.py``). A file
through the hub makes some 75 statements, so the hops were much of what a file cost
(docs/federation.md).

Here a statement runs on the event loop's own thread, which is what SQLite is good at: a
lookup by key takes microseconds. What would hold the loop does not run on it:

- waiting for another writer's lock: SQLite's own busy wait would sleep in the loop's thread,
  and a writer of the same process holding the lock could then never finish. The connection
  has no busy timeout; a statement refused with ``SQLITE_BUSY`` is tried again after an
  asyncio sleep, for as long as the threaded driver's timeout waited (30 s). A stale read
  snapshot (``SQLITE_BUSY_SNAPSHOT``) can never succeed and fails at once, as SQLite's does;
- a long read (a search over a large catalogue): a ``SELECT`` whose rows take longer than
  ``SLOW`` to read is interrupted and read again in a worker thread, in the same transaction,
  so it sees the same snapshot and the loop serves others meanwhile; rows fetched a batch at a
  time (``session.stream``) are read in the worker;
- a long write: ``executemany`` always runs in the worker, and a statement that once took
  longer than ``SLOW`` runs there from then on (a write cannot be interrupted and run again);
- the disk: a writing transaction commits in the worker (the commit is where SQLite syncs the
  log and sometimes checkpoints it).

Work handed to the worker is waited for before the connection does anything else, closes or
rolls back — also when the task that started it was cancelled — so the connection is never
used from two threads at once.

The object handed to SQLAlchemy's ``sqlite+aiosqlite`` dialect (``async_creator``) offers the
part of aiosqlite's connection that the dialect calls.
"""

import asyncio
import concurrent.futures
import re
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

# How long a statement may hold the loop before it is moved to a worker thread. Counted in
# the loop thread's processor time: on a busy machine a quick statement can take longer than
# this on the clock (the process waits for a core), and moving it would only add a hop.
SLOW = 0.005
# How long a statement waits for another writer's lock, as the threaded driver did.
BUSY_TIMEOUT = 30.0
# SQLite calls the progress handler every so many virtual machine steps (a few microseconds).
_PROGRESS_STEPS = 2000
# Refusals worth waiting out: another connection holds the lock, or recovers the log.
_RETRIED = {sqlite3.SQLITE_BUSY, getattr(sqlite3, "SQLITE_BUSY_RECOVERY", 261)}
_WRITES = re.compile(r"\b(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)
# Statements that once held the loop longer than ``SLOW`` (their SQL text, few and stable:
# SQLAlchemy compiles each statement once).
_slow_statements: set[str] = set()
_worker = concurrent.futures.ThreadPoolExecutor(thread_name_prefix="sqlite")


def _quiet(future: "asyncio.Future[Any]") -> "asyncio.Future[Any]":
    """The future, its outcome marked as seen: one nobody waits for any more (its task was
    cancelled) must not be reported as an exception never retrieved."""
    future.add_done_callback(lambda done: done.cancelled() or done.exception())
    return future


def _refused(error: sqlite3.OperationalError) -> bool:
    return getattr(error, "sqlite_errorcode", None) in _RETRIED


def _interrupted(error: sqlite3.OperationalError) -> bool:
    return getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_INTERRUPT


def _reads(statement: str) -> bool:
    """A statement that only reads: safe to interrupt and run again."""
    words = statement.split(None, 1)
    first = words[0].upper() if words else ""
    return first == "SELECT" or (first == "WITH" and not _WRITES.search(statement))


def _begins_writing(statement: str) -> bool:
    words = statement.upper().split()
    return words[:1] == ["BEGIN"] and words[1:2] in (["IMMEDIATE"], ["EXCLUSIVE"])


class InlineCursor:
    """A cursor read on the loop's thread, or in the worker when it would hold the loop."""

    arraysize = 1

    def __init__(self, owner: "InlineConnection") -> None:
        self._owner = owner
        self._cursor = owner.sqlite.cursor()
        self._statement = ""
        self._parameters: Sequence[Any] = ()
        self._reading = False
        self._fetched = False

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
        self._statement, self._parameters = statement, parameters
        self._reading, self._fetched = _reads(statement), False
        owner = self._owner
        if self._reading:
            await owner.guarded(self._cursor.execute, statement, parameters)
        elif statement in _slow_statements:
            await owner.patiently(self._cursor.execute, statement, parameters, in_worker=True)
        else:
            await owner.patiently(self._timed, statement, parameters)
        if _begins_writing(statement):
            owner.writing = True
        return self

    async def executemany(
        self, statement: str, parameters: Iterable[Sequence[Any]]
    ) -> "InlineCursor":
        self._reading, self._fetched = False, True
        await self._owner.patiently(self._cursor.executemany, statement, parameters, in_worker=True)
        return self

    async def fetchall(self) -> list[Any]:
        if self._reading and not self._fetched:
            # What SQLAlchemy asks right after ``execute``: the rows, here if quick.
            self._fetched = True
            return await self._owner.guarded(self._cursor.fetchall, rerun=self._all_again)  # type: ignore[no-any-return]
        self._fetched = True
        if self._reading:
            return await self._owner.in_worker(self._cursor.fetchall, reads=True)  # type: ignore[no-any-return]
        return self._cursor.fetchall()  # a write's RETURNING rows, already computed

    def _timed(self, statement: str, parameters: Sequence[Any]) -> Any:
        """A write run here, remembered if it held the loop too long (a refusal is quick)."""
        began = time.thread_time()
        try:
            return self._cursor.execute(statement, parameters)
        finally:
            if time.thread_time() - began > SLOW:
                _slow_statements.add(statement)

    def _all_again(self) -> list[Any]:
        return self._cursor.execute(self._statement, self._parameters).fetchall()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        # Rows a batch at a time (``session.stream``): each batch in the worker.
        self._fetched = True
        count = self.arraysize if size is None else size
        return await self._owner.in_worker(self._cursor.fetchmany, count, reads=True)  # type: ignore[no-any-return]

    async def fetchone(self) -> Any:
        self._fetched = True
        return await self._owner.in_worker(self._cursor.fetchone, reads=True)

    async def nextset(self) -> None:
        return None

    async def setinputsizes(self, *sizes: Any) -> None:
        return None

    async def close(self) -> None:
        await self._owner.settled()
        self._cursor.close()


class _Opening:
    """What ``connection.cursor()`` gives: SQLAlchemy enters it with ``await __aenter__()``."""

    def __init__(self, owner: "InlineConnection") -> None:
        self._owner = owner

    async def __aenter__(self) -> InlineCursor:
        await self._owner.settled()
        return InlineCursor(self._owner)


class InlineConnection:
    """One SQLite connection used from the event loop's thread and, one call at a time, from
    the worker while the loop waits for it."""

    def __init__(self, sqlite: sqlite3.Connection) -> None:
        self.sqlite = sqlite
        # True from BEGIN IMMEDIATE to the end of that transaction: its commit syncs the disk.
        self.writing = False
        self._closed = False
        # The call running in the worker, if any: nothing else touches the connection until
        # it is done, even when the task that started it was cancelled.
        self._running: concurrent.futures.Future[Any] | None = None
        # Whether that call only reads: closing may then interrupt it (never a write or a
        # commit, which an interruption could undo).
        self._reads = False
        # The caller's own progress handler (``set_progress_handler``: a count bounded in
        # time), obeyed wherever a statement runs, on the loop or in the worker.
        self._limit: Callable[[], bool] | None = None

    # What SQLAlchemy's aiosqlite adapter reads.
    @property
    def _connection(self) -> sqlite3.Connection | None:
        return None if self._closed else self.sqlite

    @property
    def isolation_level(self) -> str | None:
        return self.sqlite.isolation_level

    def cursor(self) -> _Opening:
        return _Opening(self)

    async def settled(self) -> None:
        """Wait for the worker's call on this connection to end, whatever its outcome."""
        running = self._running
        if running is not None and not running.done():
            await asyncio.wait([_quiet(asyncio.wrap_future(running))])

    async def in_worker(self, call: Callable[..., Any], *args: Any, reads: bool = False) -> Any:
        await self.settled()
        self._reads = reads
        self._running = _worker.submit(call, *args)
        # Shielded: a cancelled task stops waiting, the call goes on and ``settled`` waits.
        return await asyncio.shield(_quiet(asyncio.wrap_future(self._running)))

    async def patiently(
        self, call: Callable[..., Any], *args: Any, in_worker: bool = False, reads: bool = False
    ) -> Any:
        """``call(*args)``, tried again while another connection holds the lock."""
        await self.settled()
        deadline = time.monotonic() + BUSY_TIMEOUT
        pause = 0.001
        while True:
            try:
                if in_worker:
                    return await self.in_worker(call, *args, reads=reads)
                return call(*args)
            except sqlite3.OperationalError as error:
                if not _refused(error) or time.monotonic() > deadline:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)

    async def guarded(
        self, call: Callable[..., Any], *args: Any, rerun: Callable[[], Any] | None = None
    ) -> Any:
        """A read's ``call(*args)`` here if it ends within ``SLOW``; else interrupted, and
        ``rerun`` (the same read from its start) in the worker."""
        deadline = time.thread_time() + SLOW
        limit = self._limit

        def progress() -> bool:
            return time.thread_time() > deadline or (limit is not None and limit())

        self.sqlite.set_progress_handler(progress, _PROGRESS_STEPS)
        try:
            return await self.patiently(call, *args)
        except sqlite3.OperationalError as error:
            # Stopped by the caller's own handler: the caller's interruption, not ours.
            if not _interrupted(error) or (limit is not None and limit()):
                raise
        finally:
            self.sqlite.set_progress_handler(limit, _PROGRESS_STEPS)
        # Interrupted: a read changes nothing and its transaction stays open, so reading it
        # again sees the same rows.
        if rerun is None:
            return await self.patiently(call, *args, in_worker=True, reads=True)
        return await self.patiently(rerun, in_worker=True, reads=True)

    async def set_progress_handler(self, handler: Callable[[], bool] | None, steps: int) -> None:
        """aiosqlite's: ``handler`` is called every so many steps of a statement, which stops
        when it answers true (``steps`` is ours: a few microseconds)."""
        await self.settled()
        self._limit = handler
        self.sqlite.set_progress_handler(handler, _PROGRESS_STEPS)

    async def commit(self) -> None:
        await self.settled()
        if self.writing:
            self.writing = False
            await self.in_worker(self.sqlite.commit)
        else:
            self.sqlite.commit()

    async def rollback(self) -> None:
        await self.settled()
        self.writing = False
        self.sqlite.rollback()

    def _interrupt_a_read(self) -> None:
        if self._reads and self._running is not None and not self._running.done():
            self.sqlite.interrupt()  # no reason to finish a read nobody waits for

    async def close(self) -> None:
        self._interrupt_a_read()
        await self.settled()
        self._end()

    def _end(self) -> None:
        self._closed = True
        # Rolled back first: a statement left unfinished (an interrupted read) would keep a
        # closed connection, and its lock, alive until the statement is collected.
        if self.sqlite.in_transaction:
            self.sqlite.rollback()
        self.sqlite.close()

    def stop(self) -> None:
        """Close at once (SQLAlchemy's terminate), after the worker's call if one runs."""
        self._interrupt_a_read()
        if self._running is not None:
            concurrent.futures.wait([self._running])
        self._end()

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
