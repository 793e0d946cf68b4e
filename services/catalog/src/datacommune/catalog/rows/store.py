"""Where versions' rows are kept: in catalog's own database on PostgreSQL, in a SQLite file of
their own per version on SQLite.

Why a file per version on SQLite: a SQLite database has one schema, and every connection reads
all of it again after any change to it. With a table and its indexes per version in catalog's
database, a 35-minute soak left 2,537 tables and 21,154 indexes there, each new connection
spent a second and 7-10 MiB parsing them, and catalog fell ever further behind
(docs/operations.md). In a file of its own, a version's table changes nobody's schema, is
written once, and is only read afterwards. PostgreSQL keeps its catalogue of tables in tables
of its own and was measured flat at the same rate, so there rows stay in the database, where
``COPY`` and ``VACUUM ANALYZE`` serve them.

A file is written under a name of its own (``<version>.<attempt>.loading``) with SQLite's
journal and syncing off, flushed to disk, then renamed into place: a reader sees a whole file
or none, and a loader that dies leaves only a partial file that nothing reads.
"""

import asyncio
import contextlib
import os
import shutil
import tempfile
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from datacommune.shared import inline_sqlite
from datacommune.shared.db import make_reader, make_sessionmaker
from datacommune.shared.storage import fsync_path

log = structlog.get_logger()

SUFFIX = ".sqlite"
PARTIAL = ".loading"
# A partial file untouched for this long belongs to no live loader (one writes every batch).
STALE_SECONDS = 600
# Versions whose reading engines are kept: each holds its dialect and compiled statements
# (about 60 KiB, measured) and up to READERS_KEPT open connections to its file, so this bounds
# memory (4 MiB) and open files (128).
ENGINES_KEPT = 64
READERS_KEPT = 2


class Replaced(RuntimeError):
    """A version's rows were loaded again while an index was added to a copy of them: the
    copy is thrown away (the new table gets its own index)."""

    def __init__(self, version_id: uuid.UUID) -> None:
        super().__init__(str(version_id))


class RowsMissing(LookupError):
    """A version's rows are recorded as loaded but their file is not there (deleted, or a
    database restored without its rows folder): they must be loaded again."""

    def __init__(self, version_id: uuid.UUID) -> None:
        super().__init__(str(version_id))
        self.version_id = version_id


@dataclass
class Target:
    """Where a loader writes one version's rows."""

    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]


class RowStore:
    """The rows of every version, read per version and written by the row loader."""

    def __init__(self, engine: AsyncEngine, directory: Path | None = None) -> None:
        self._engine = engine
        self._reader = make_reader(engine)
        self._writer = make_sessionmaker(engine)
        self.directory: Path | None = None
        if engine.dialect.name == "sqlite":
            self.directory = directory or beside(engine)
            self.directory.mkdir(parents=True, exist_ok=True)
        # Each version's reading engine, and the file (inode, time) its connections have open.
        self._engines: OrderedDict[uuid.UUID, _Reading] = OrderedDict()
        # Engines set aside (a file replaced, a version dropped or read by nobody lately),
        # their idle connections being closed.
        self._retiring: set[asyncio.Task[None]] = set()

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    def path(self, version_id: uuid.UUID) -> Path:
        assert self.directory is not None
        return self.directory / f"{version_id.hex}{SUFFIX}"

    def has(self, version_id: uuid.UUID) -> bool:
        """Whether the version's rows can be read (always, on PostgreSQL)."""
        return self.directory is None or self.path(version_id).exists()

    def reader(self, version_id: uuid.UUID) -> async_sessionmaker[AsyncSession]:
        """Sessions reading one version's rows; ``RowsMissing`` if its file is gone.

        Their connections stay open between requests (opening one cost more than the query
        of a page), each on the file as it was when it opened: a file replaced since (a new
        load, by this process or another) is seen by its inode and time, and read anew."""
        if self.directory is None:
            return self._reader
        try:
            found = self.path(version_id).stat()
        except FileNotFoundError:
            self._retire(version_id)
            raise RowsMissing(version_id) from None
        file = (found.st_ino, found.st_mtime_ns)
        kept = self._engines.get(version_id)
        if kept is not None and kept.file == file:
            self._engines.move_to_end(version_id)
            return kept.sessions
        self._retire(version_id)
        engine = _file_engine(self.path(version_id), writing=False)
        self._engines[version_id] = _Reading(file, engine, async_sessionmaker(engine))
        if len(self._engines) > ENGINES_KEPT:
            self._retire(next(iter(self._engines)))
        return self._engines[version_id].sessions

    def _retire(self, version_id: uuid.UUID) -> None:
        """Forget a version's reading engine and close its idle connections; sessions still
        reading finish, their connections closed as they end."""
        kept = self._engines.pop(version_id, None)
        if kept is None:
            return
        task = asyncio.get_running_loop().create_task(kept.engine.dispose())
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def close(self) -> None:
        """Close every reading connection (at shutdown)."""
        for version_id in list(self._engines):
            self._retire(version_id)
        await asyncio.gather(*self._retiring, return_exceptions=True)

    @contextlib.asynccontextmanager
    async def loading(self, version_id: uuid.UUID) -> AsyncIterator[Target]:
        """Where to write a version's rows; on SQLite they are in place, whole and on disk,
        when the block ends without error, and nowhere otherwise."""
        if self.directory is None:
            yield Target(self._engine, self._writer)
            return
        partial = self._partial(version_id)
        engine = _file_engine(partial, writing=True)
        try:
            yield Target(engine, make_sessionmaker(engine))
            await engine.dispose()
            self._put_in_place(version_id, partial)
        finally:
            await engine.dispose()
            partial.unlink(missing_ok=True)

    @contextlib.asynccontextmanager
    async def amending(self, version_id: uuid.UUID) -> AsyncIterator[Target]:
        """Where to add to a version's loaded rows (an index): on PostgreSQL its table, in
        place; on SQLite a copy of its file, put in place when the block ends without error —
        readers see the file before or after, whole, and a file loaded again meanwhile is
        left as it is (``Replaced``)."""
        if self.directory is None:
            yield Target(self._engine, self._writer)
            return
        current = self.path(version_id)
        partial = self._partial(version_id)
        before = current.stat()  # RowsMissing's case: FileNotFoundError
        await asyncio.to_thread(shutil.copyfile, current, partial)
        engine = _file_engine(partial, writing=True)
        try:
            yield Target(engine, make_sessionmaker(engine))
            await engine.dispose()
            now = current.stat()
            if (now.st_ino, now.st_mtime_ns) != (before.st_ino, before.st_mtime_ns):
                raise Replaced(version_id)
            self._put_in_place(version_id, partial)
        finally:
            await engine.dispose()
            partial.unlink(missing_ok=True)

    def _partial(self, version_id: uuid.UUID) -> Path:
        assert self.directory is not None
        return self.directory / f"{version_id.hex}.{uuid.uuid4().hex}{PARTIAL}"

    def _put_in_place(self, version_id: uuid.UUID, partial: Path) -> None:
        assert self.directory is not None
        fsync_path(partial)
        os.replace(partial, self.path(version_id))
        fsync_path(self.directory)
        # Readers see the new file by its inode; this process's own need not wait for that.
        self._retire(version_id)

    async def drop(self, version_id: uuid.UUID) -> None:
        """Delete a version's rows (its file stays in storage): a reader that has them open
        finishes; the next is told they are gone by the version's row table status."""
        self._retire(version_id)
        if self.directory is not None:
            self.path(version_id).unlink(missing_ok=True)
            return
        async with self._engine.begin() as connection:
            await connection.execute(text(f'DROP TABLE IF EXISTS "rows_{version_id.hex}"'))

    def sweep(self) -> list[str]:
        """Remove partial files no live loader writes (a loader killed mid-load left them)."""
        if self.directory is None:
            return []
        removed = []
        now = time.time()
        for partial in self.directory.glob(f"*{PARTIAL}"):
            with contextlib.suppress(OSError):
                if now - partial.stat().st_mtime > STALE_SECONDS:
                    partial.unlink()
                    removed.append(partial.name)
        if removed:
            log.info("row_files_swept", files=len(removed))
        return removed


def beside(engine: AsyncEngine) -> Path:
    """The rows folder of a SQLite database: ``catalog.db`` keeps them in ``catalog-rows/``."""
    database = make_url(str(engine.url)).database
    if not database or database == ":memory:":
        return Path(tempfile.mkdtemp(prefix="datacommune-rows-"))
    path = Path(database)
    return path.with_name(f"{path.stem}-rows")


@dataclass
class _Reading:
    """A version's reading engine, its sessions, and the file its connections have open."""

    file: tuple[int, int]
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]


def _file_engine(path: Path, *, writing: bool) -> AsyncEngine:
    if writing:
        # A loader's: NullPool, its one connection closed with the load.
        engine = create_async_engine(f"sqlite+aiosqlite:///{path}", poolclass=NullPool)
    else:
        # Readers run on the event loop's thread (shared/inline_sqlite.py: a long read moves
        # to a worker), a few connections kept open between requests, in autocommit: the file
        # never changes once in place.
        engine = create_async_engine(
            f"sqlite+aiosqlite:///{path}",
            async_creator=inline_sqlite.creator(str(path)),
            pool_size=READERS_KEPT,
            max_overflow=16,
        )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        if writing:  # (the inline driver's connections are made in autocommit)
            dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if writing:
            # Nothing to roll back to and nothing to sync per batch: a failed load is thrown
            # away whole, and a finished one is flushed once before it is renamed into place.
            cursor.execute("PRAGMA journal_mode=OFF")
            cursor.execute("PRAGMA synchronous=OFF")
        else:
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    if writing:

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(connection: Any) -> None:
            # One transaction per batch, as on the catalogue's own database.
            connection.exec_driver_sql("BEGIN")

    return engine
