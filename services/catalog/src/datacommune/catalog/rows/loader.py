"""Load each published tabular version's rows into its own table, in the background.

Where that table lives (catalog's database, or a SQLite file of its own) is ``rows.store``'s.

Publication does not wait for this: a version is public at once, and its row API and exports
follow when its table is ready (``row_tables.status``). The loader claims one table at a time
with a lease, renewed while it loads, so two catalog replicas share the work and one that dies
mid-load leaves it to the other (or to itself, restarted) within ``LEASE``; a new attempt
starts the table over.
"""

import asyncio
import contextlib
import csv
import io
import math
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from datacommune.catalog.rows import columns as rowtables
from datacommune.catalog.rows import search as rowsearch
from datacommune.catalog.rows import typed
from datacommune.catalog.rows.store import RowStore, Target
from datacommune.catalog.tables import RowTable, Version
from datacommune.shared import events
from datacommune.shared.outbox import utcnow
from datacommune.shared.process import background
from datacommune.shared.process import tasks as background_tasks
from datacommune.shared.process.background import Waker
from datacommune.shared.process.scratch import held_dir
from datacommune.shared.storage import ObjectMissing, ObjectStore

log = structlog.get_logger()

BATCH = 10_000
# A batch also stops past this much text, so that a table of large cells is loaded in small
# batches: what the loader holds is bounded by this, not by the file (docs/operations.md).
BATCH_BYTES = 1024 * 1024
# Scratch folders of tables being loaded (swept at start-up).
SCRATCH_PREFIX = "datacommune-rows-"
# A table's rows answer 503 `rows-not-ready` while it loads: after a crash, for up to LEASE
# more. The lease is renewed every RENEW_SECONDS by the loader holding it, however long one
# step takes (a download, a batch, an index), so it can be short.
LEASE = timedelta(seconds=20)
RENEW_SECONDS = 5.0
POLL_SECONDS = 5.0
# Tables of up to so many rows get their search index with their rows, in the same load (the
# index of 200,000 rows of three text columns took 0.8 s on SQLite and 3.1 s on PostgreSQL, so
# about a quarter of that here); a larger table's follows once its rows answer (``index_next``).
SEARCH_WITH_ROWS = 50_000
SWEEP_SECONDS = 300.0
# A cell of a few megabytes is a text, not a mistake; the validation report judged the file.
csv.field_size_limit(16 * 1024 * 1024)


class Records:
    """The records of a stored CSV, read in batches (in a worker thread)."""

    def __init__(self, path: Path, shape: events.TableShape) -> None:
        raw = path.open("rb")
        raw.seek(shape.bom_bytes)
        # The report told the commune about any undecodable byte; the rows keep a « � ».
        self._text = io.TextIOWrapper(raw, encoding=shape.encoding, errors="replace", newline="")
        self._reader = csv.reader(self._text, delimiter=shape.delimiter)

    def header(self) -> list[str]:
        return next(self._reader, [])

    def batch(self, size: int, max_bytes: int = BATCH_BYTES) -> list[list[str]]:
        """Up to ``size`` records, fewer once they hold ``max_bytes`` characters."""
        records: list[list[str]] = []
        held = 0
        for record in self._reader:
            records.append(record)
            held += sum(map(len, record))
            if len(records) >= size or held >= max_bytes:
                break
        return records

    def close(self) -> None:
        self._text.close()


def initial_columns(header: list[str], shape: events.TableShape) -> list[dict[str, str]]:
    """The header's columns with the types the file was checked against (text if unknown)."""
    types = {f.name: f for f in shape.fields}
    columns = []
    for position, name in enumerate(rowtables.column_names(header)):
        field = types.get(header[position]) if position < len(header) else None
        kind = field.type if field else "string"
        columns.append(
            {
                "name": name,
                "column": f"c{position}",
                "type": kind,
                "stored": rowtables.sql_type(kind),
                "format": field.format if field else "default",
            }
        )
    return columns


class RowLoader:
    """The background task that fills row tables; ``wake`` it when one is waiting."""

    def __init__(
        self,
        engine: AsyncEngine,
        sessionmaker: async_sessionmaker[AsyncSession],
        store: ObjectStore,
        rows: RowStore | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._store = store
        self._rows = rows or RowStore(engine)
        self._waker = Waker()

    def wake(self) -> None:
        self._waker.wake()

    async def run(self) -> None:
        try:
            await self.reload_missing()
        except Exception:
            log.exception("row_files_not_checked")
        swept = -math.inf

        async def one_pass() -> None:
            nonlocal swept
            if time.monotonic() - swept > SWEEP_SECONDS:
                # What a killed loader (this one, before a restart, or a replica) left.
                swept = time.monotonic()
                await asyncio.to_thread(self._rows.sweep)
            # Loads first: a table's rows before any table's search index.
            while await self.load_next() or await self.index_next():
                pass

        await background.forever(
            one_pass, self._waker, poll=POLL_SECONDS, failed="row_loading_failed"
        )

    async def load_next(self) -> bool:
        """Load one waiting table; False when none waits."""
        claimed = await self._claim()
        if claimed is None:
            return False
        version_id, object_key, shape = claimed
        try:
            async with self._holding(version_id):
                with held_dir(prefix=SCRATCH_PREFIX) as tmp:
                    path = Path(tmp) / "table.csv"
                    await self._store.download(object_key, path)
                    await self._load(version_id, path, shape)
        except (ObjectMissing, csv.Error, UnicodeError, LookupError) as exc:
            # Nothing a retry changes: say why on the version, and move on.
            await self._fail(version_id, f"{type(exc).__name__}: {exc}"[:500])
        except asyncio.CancelledError:
            # Stopping (SIGTERM): hand the table back at once rather than when the lease ends.
            with contextlib.suppress(Exception):
                await asyncio.shield(self._give_back(version_id))
            raise
        return True

    async def index_next(self) -> bool:
        """Build the search index of one table whose rows are ready; False when none waits.

        The rows answer while it is built (``_search`` alone waits): on a million rows it takes
        seconds on SQLite and about fifteen on PostgreSQL (rows/search.py)."""
        claimed = await self._claim_index()
        if claimed is None:
            return False
        version_id, columns, loaded_at = claimed
        outcome = rowsearch.READY
        try:
            async with self._holding(version_id, status="ready"):
                async with self._rows.amending(version_id) as target:
                    async with target.engine.begin() as connection:
                        tbl = rowtables.table(version_id, columns)
                        await rowsearch.build(connection, tbl, columns)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._release(version_id))
            raise
        except Exception:
            log.exception("row_search_not_built", version=str(version_id))
            outcome = rowsearch.FAILED
        async with self._sessionmaker.begin() as session:
            # Not for a table loaded again meanwhile: its own index is still to build.
            await session.execute(
                update(RowTable)
                .where(
                    RowTable.version_id == version_id,
                    RowTable.status == "ready",
                    RowTable.loaded_at == loaded_at,
                )
                .values(search=outcome, lease_until=None)
            )
        log.info("row_search_built", version=str(version_id), outcome=outcome)
        return True

    async def _claim_index(self) -> tuple[uuid.UUID, list[dict[str, str]], Any] | None:
        now = utcnow()
        async with self._sessionmaker.begin() as session:
            row = (
                await session.execute(
                    select(RowTable.version_id, RowTable.columns, RowTable.loaded_at)
                    .where(
                        RowTable.status == "ready",
                        RowTable.search.is_(None),
                        or_(RowTable.lease_until.is_(None), RowTable.lease_until < now),
                    )
                    .limit(1)
                    .with_for_update(of=RowTable, skip_locked=True)
                )
            ).first()
            if row is None:
                return None
            await session.execute(
                update(RowTable)
                .where(RowTable.version_id == row.version_id)
                .values(lease_until=now + LEASE)
            )
        return row.version_id, row.columns, row.loaded_at

    async def _release(self, version_id: uuid.UUID) -> None:
        async with self._sessionmaker.begin() as session:
            await session.execute(
                update(RowTable)
                .where(RowTable.version_id == version_id, RowTable.status == "ready")
                .values(lease_until=None)
            )

    async def reload_missing(self) -> int:
        """Queue again the tables recorded as loaded whose rows are not there (a rows folder
        lost or not restored with the database); how many."""
        async with self._sessionmaker() as session:
            ready = (
                await session.scalars(select(RowTable.version_id).where(RowTable.status == "ready"))
            ).all()
        missing = [v for v in ready if not self._rows.has(v)]
        if missing:
            await reload(self._sessionmaker, missing)
            self.wake()
        return len(missing)

    async def _claim(self) -> tuple[uuid.UUID, str, events.TableShape] | None:
        now = utcnow()
        waiting = or_(
            RowTable.status == "pending",
            and_(RowTable.status == "loading", RowTable.lease_until < now),
        )
        async with self._sessionmaker.begin() as session:
            row = (
                await session.execute(
                    select(RowTable.version_id, RowTable.shape, Version.object_key)
                    .join(Version, Version.id == RowTable.version_id)
                    .where(waiting)
                    .limit(1)
                    .with_for_update(of=RowTable, skip_locked=True)
                )
            ).first()
            if row is None:
                return None
            await session.execute(
                update(RowTable)
                .where(RowTable.version_id == row.version_id)
                .values(status="loading", lease_until=now + LEASE, error=None)
            )
        return row.version_id, row.object_key, events.TableShape.model_validate(row.shape)

    @contextlib.asynccontextmanager
    async def _holding(
        self, version_id: uuid.UUID, *, status: str = "loading"
    ) -> AsyncIterator[None]:
        """Keep the lease on ``version_id`` (a table in ``status``) while the block runs."""
        renewer = asyncio.create_task(self._renew(version_id, status), name="row-lease")
        try:
            yield
        finally:
            await background_tasks.stop([renewer])

    async def _renew(self, version_id: uuid.UUID, status: str) -> None:
        while True:
            await asyncio.sleep(RENEW_SECONDS)
            try:
                async with self._sessionmaker.begin() as session:
                    await session.execute(
                        update(RowTable)
                        .where(RowTable.version_id == version_id, RowTable.status == status)
                        .values(lease_until=utcnow() + LEASE)
                    )
            except Exception:
                # The next renewal may succeed; if none does, another loader takes over.
                log.warning("row_lease_not_renewed", version=str(version_id), exc_info=True)

    async def _load(self, version_id: uuid.UUID, path: Path, shape: events.TableShape) -> None:
        records = Records(path, shape)
        try:
            header = await asyncio.to_thread(records.header)
        finally:
            records.close()
        columns = initial_columns(header, shape)
        fill = self._fill_typed
        async with self._rows.loading(version_id) as target:
            while True:
                try:
                    count = await fill(target, version_id, path, shape, columns)
                    break
                except typed.Irregular as exc:
                    # Read record for record as Python's csv does, « � » and all.
                    log.info("rows_read_by_python", version=str(version_id), reason=str(exc))
                    fill = self._fill
                except rowtables.NotConvertible as exc:
                    # Keep every cell: a column that is not all of its type is loaded as text.
                    log.info("row_column_as_text", version=str(version_id), column=exc.column)
                    columns[exc.column]["stored"] = "string"
            tbl = rowtables.table(version_id, columns)
            search = None
            async with target.sessionmaker.begin() as session:
                connection = await session.connection()
                for index in rowtables.indexes(version_id, tbl):
                    await connection.run_sync(index.create)
                if count <= SEARCH_WITH_ROWS:
                    # A small table's search index costs less than a second step would.
                    await rowsearch.build(connection, tbl, columns)
                    search = rowsearch.READY
            if target.engine.dialect.name == "postgresql":
                # Fresh statistics and a visibility map: counts become index-only scans.
                async with target.engine.connect() as connection:
                    autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
                    await autocommit.execute(sa.text(f'VACUUM ANALYZE "{tbl.name}"'))
        async with self._sessionmaker.begin() as session:
            await session.execute(
                update(RowTable)
                .where(RowTable.version_id == version_id)
                .values(
                    status="ready",
                    columns=columns,
                    row_count=count,
                    loaded_at=utcnow(),
                    lease_until=None,
                    # Built with the rows, or next (``index_next``).
                    search=search,
                )
            )
        log.info("rows_loaded", version=str(version_id), rows=count)

    async def _fill(
        self,
        target: Target,
        version_id: uuid.UUID,
        path: Path,
        shape: events.TableShape,
        columns: list[dict[str, str]],
    ) -> int:
        tbl = rowtables.table(version_id, columns)
        convert = rowtables.converters(columns)
        async with target.sessionmaker.begin() as session:
            connection = await session.connection()
            await connection.execute(rowtables.drop_table(tbl))
            await connection.execute(rowtables.create_table(tbl))
        records = Records(path, shape)
        count, number = 0, 2
        try:
            await asyncio.to_thread(records.header)
            while batch := await asyncio.to_thread(records.batch, BATCH):
                rows = await asyncio.to_thread(rowtables.convert_rows, number, batch, convert)
                number += len(batch)
                count += len(rows)
                async with target.sessionmaker.begin() as session:
                    await _insert(session, tbl, rows)
        finally:
            records.close()
        return count

    async def _fill_typed(
        self,
        target: Target,
        version_id: uuid.UUID,
        path: Path,
        shape: events.TableShape,
        columns: list[dict[str, str]],
    ) -> int:
        """``_fill`` through pyarrow (``typed``): on PostgreSQL one ``COPY … FREEZE`` in the
        transaction that made the table, so its rows need no vacuum to be seen as visible by
        index-only scans; on SQLite, a prepared INSERT per batch. The next batch is read and
        converted in a thread while the database takes the current one."""
        tbl = rowtables.table(version_id, columns)
        postgres = target.engine.dialect.name == "postgresql"
        prepare: Callable[[Any], Any] = typed.csv_text if postgres else typed.sqlite_rows
        batches = iter(typed.TypedBatches(path, shape, columns, block_size=BATCH_BYTES))
        count = 0

        def next_payload() -> tuple[int, Any] | None:
            batch = next(batches, None)
            return None if batch is None else (batch.num_rows, prepare(batch))

        async def payloads() -> AsyncIterator[Any]:
            nonlocal count
            # One batch ahead, never more: the iterator is used by one thread at a time.
            pending = asyncio.ensure_future(asyncio.to_thread(next_payload))
            try:
                while (item := await pending) is not None:
                    pending = asyncio.ensure_future(asyncio.to_thread(next_payload))
                    count += item[0]
                    yield item[1]
            finally:
                await asyncio.gather(pending, return_exceptions=True)

        async with target.sessionmaker.begin() as session:
            connection = await session.connection()
            await connection.execute(rowtables.drop_table(tbl))
            await connection.execute(rowtables.create_table(tbl))
            if postgres:
                raw = await connection.get_raw_connection()
                await raw.driver_connection.copy_to_table(  # type: ignore[union-attr]
                    tbl.name,
                    source=payloads(),
                    columns=[c.name for c in tbl.columns],
                    format="csv",
                    freeze=True,
                )
                return count
        statement = _insert_statement(tbl)
        async for rows in payloads():
            async with target.sessionmaker.begin() as session:
                connection = await session.connection()
                await connection.exec_driver_sql(statement, rows)
        return count

    async def _give_back(self, version_id: uuid.UUID) -> None:
        async with self._sessionmaker.begin() as session:
            await session.execute(
                update(RowTable)
                .where(RowTable.version_id == version_id, RowTable.status == "loading")
                .values(status="pending", lease_until=None)
            )

    async def _fail(self, version_id: uuid.UUID, error: str) -> None:
        log.warning("rows_not_loaded", version=str(version_id), error=error)
        async with self._sessionmaker.begin() as session:
            await session.execute(
                update(RowTable)
                .where(RowTable.version_id == version_id)
                .values(status="failed", error=error, lease_until=None)
            )


async def reload(
    sessionmaker: async_sessionmaker[AsyncSession], version_ids: list[uuid.UUID]
) -> None:
    """Queue loaded tables to be loaded again (their rows went missing), in one statement."""
    log.warning(
        "rows_missing_reloading", count=len(version_ids), first=[str(v) for v in version_ids[:20]]
    )
    async with sessionmaker.begin() as session:
        await session.execute(
            update(RowTable)
            .where(RowTable.version_id.in_(version_ids), RowTable.status == "ready")
            .values(status="pending", lease_until=None)
        )


async def _insert(session: AsyncSession, tbl: sa.Table, rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    connection = await session.connection()
    names = [c.name for c in tbl.columns]
    if connection.dialect.name == "postgresql":
        # COPY: an order of magnitude faster than INSERTs for a million rows.
        raw = await connection.get_raw_connection()
        await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
            tbl.name, records=rows, columns=names
        )
        return
    # SQLite: the driver's executemany of one prepared INSERT over the tuples. Through
    # ``tbl.insert()`` SQLAlchemy made a dict of every row and bound each value through its
    # type, a third of the load's time; here each column's own bind processor is applied once
    # per value, in a worker thread, so the stored values are the ones SQLAlchemy would store.
    dialect = connection.dialect
    # The dialect's own type (SQLite's DATE writes its text itself), as SQLAlchemy binds.
    processors = [c.type.dialect_impl(dialect).bind_processor(dialect) for c in tbl.columns]
    if any(processors):
        rows = await asyncio.to_thread(_bound, rows, processors)
    await connection.exec_driver_sql(_insert_statement(tbl), rows)


def _insert_statement(tbl: sa.Table) -> str:
    """SQLite's INSERT of a whole row, to prepare once and run over many."""
    names = [c.name for c in tbl.columns]
    quoted = ", ".join(f'"{n}"' for n in names)
    marks = ", ".join("?" for _ in names)
    # Names of our making (rows_<hex>, c<n>), never a header's text.
    return f'INSERT INTO "{tbl.name}" ({quoted}) VALUES ({marks})'


def _bound(
    rows: list[tuple[Any, ...]], processors: Sequence[Callable[[Any], Any] | None]
) -> list[tuple[Any, ...]]:
    """Each value as its column's type binds it (a date as SQLite's DATE writes it), a column
    at a time."""
    columns = list(zip(*rows, strict=True))
    for position, process in enumerate(processors):
        if process is not None:
            columns[position] = tuple(None if v is None else process(v) for v in columns[position])
    return list(zip(*columns, strict=True))
