"""A pool's rows: a source's rows read from its published file and kept as lines of the
consolidated CSV, closed when the source is replaced or leaves. The work is the changed
source's rows, whatever the territory holds."""

import asyncio
import csv
import hashlib
import io
import uuid
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any, BinaryIO, cast

from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from datacommune.catalog.core.datasets import download_path
from datacommune.catalog.pooling.membership import Member
from datacommune.catalog.rows.loader import Records
from datacommune.catalog.tables import Pool, PoolRow, PoolSegment

# The provenance columns, after the schema's fields (docs/consolidation.md): a schema field
# cannot start with « _ » in the national schemas, so these never collide with one.
PROVENANCE = (
    "_organisation",
    "_organisation_nom",
    "_siren",
    "_jeu_de_donnees",
    "_version",
    "_telechargement",
    "_publie_le",
)
BATCH = 2_000
# A segment (a file's run of consolidated lines) is cut at about this many characters.
SEGMENT_CHARS = 1024 * 1024
# Held before one insert (characters of rows and segments) or one write to a file (bytes): a
# few segments' worth.
HELD = 4 * SEGMENT_CHARS
# The tables themselves: many rows a statement, without the ORM's bulk insert around it.
_ROW_TABLE = cast(Table, PoolRow.__table__)
_SEGMENT_TABLE = cast(Table, PoolSegment.__table__)
# Joins a primary key's values: a character no CSV cell of a valid file holds by accident.
KEY_SEPARATOR = "\x1f"


def line(values: Iterable[str]) -> str:
    """One CSV record (RFC 4180: quoted where needed, CRLF-terminated)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(values)
    return out.getvalue()


def header(fields: list[str]) -> str:
    """A pooled file's first line: the columns, then the provenance columns."""
    return line([*fields, *PROVENANCE])


class FileOut:
    """A pooled file being written, its sha256 and size. What to write (bytes, or a range of
    an ``old`` file) is handed to a worker thread a few megabytes at a time: reading, hashing
    and writing release the interpreter's lock, and each trip to the thread waits its turn on
    a busy event loop, so the trips are few."""

    def __init__(self, out: BinaryIO, old: BinaryIO | None = None) -> None:
        self._out = out
        self._old = old
        self._held: list[bytes | tuple[int, int]] = []
        self._held_bytes = 0
        self.digest = hashlib.sha256()
        self.size = 0

    async def add(self, chunk: bytes) -> None:
        await self._hold(chunk, len(chunk))

    async def copy(self, offset: int, length: int) -> None:
        """``length`` bytes of the old file from ``offset``."""
        await self._hold((offset, length), length)

    async def _hold(self, what: bytes | tuple[int, int], size: int) -> None:
        self._held.append(what)
        self._held_bytes += size
        if self._held_bytes >= HELD:
            await self.flush()

    async def flush(self) -> None:
        held, self._held, self._held_bytes = self._held, [], 0
        await asyncio.to_thread(self._write, held)

    def _write(self, held: list[bytes | tuple[int, int]]) -> None:
        for what in held:
            if isinstance(what, tuple):
                assert self._old is not None
                self._old.seek(what[0])
                chunk = self._old.read(what[1])
            else:
                chunk = what
            self._out.write(chunk)
            self.digest.update(chunk)
            self.size += len(chunk)


async def write_file(path: Path, fields: list[str], lines: AsyncIterator[str]) -> tuple[str, int]:
    """A pooled file at ``path``: the header of ``fields``, then ``lines`` (each one record or
    more, CSV-encoded), a few megabytes at a time; its sha256 and size."""
    with path.open("wb") as handle:
        out = FileOut(handle)
        held, chars = [header(fields)], 0
        async for text in lines:
            held.append(text)
            chars += len(text)
            if chars >= HELD:
                await out.add("".join(held).encode())
                held, chars = [], 0
        await out.add("".join(held).encode())
        await out.flush()
    return out.digest.hexdigest(), out.size


def provenance(source: Member, public_url: str) -> list[str]:
    version = source.version
    published = version.public_at or version.published_at
    return [
        source.organization.slug,
        source.organization.name,
        source.organization.siren or "",
        source.dataset.slug,
        str(version.id),
        public_url + download_path(version.id),
        published.isoformat(),
    ]


class Pending:
    """Rows and segments waiting to be inserted: the files of one update share a few
    statements rather than each making its own (under a burst each round trip waits its
    turn behind the service's other work)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._rows: list[dict[str, Any]] = []
        self._segments: list[dict[str, Any]] = []
        self._chars = 0

    async def row(self, row: dict[str, Any]) -> None:
        self._rows.append(row)
        self._chars += len(row["line"])
        if len(self._rows) >= BATCH or self._chars >= HELD:
            await self.flush()

    async def segment(self, segment: dict[str, Any]) -> None:
        self._segments.append(segment)
        self._chars += len(segment["text"])
        if self._chars >= HELD:
            await self.flush()

    async def flush(self) -> None:
        if self._rows:
            await self._session.execute(_ROW_TABLE.insert(), self._rows)
        if self._segments:
            await self._session.execute(_SEGMENT_TABLE.insert(), self._segments)
        self._rows, self._segments, self._chars = [], [], 0


class Segments:
    """Collects a file's lines and hands them on as segments of about ``SEGMENT_CHARS``."""

    def __init__(self, pending: Pending, keys: dict[str, Any]) -> None:
        self._pending = pending
        self._keys = keys
        self.version_id: uuid.UUID = keys["version_id"]
        self._held: list[str] = []
        self._size = 0
        self._part = 0

    @classmethod
    def of(
        cls,
        pending: Pending,
        pool: Pool,
        version_id: uuid.UUID,
        resource_id: uuid.UUID,
        organization: str,
    ) -> "Segments":
        keys = {
            "pool_id": pool.id,
            "version_id": version_id,
            "resource_id": resource_id,
            "organization": organization,
        }
        return cls(pending, keys)

    async def add(self, line: str) -> None:
        self._held.append(line)
        self._size += len(line)
        if self._size >= SEGMENT_CHARS:
            await self.flush()

    async def flush(self) -> None:
        if not self._held:
            return
        segment = {**self._keys, "part": self._part, "text": "".join(self._held)}
        await self._pending.segment(segment)
        self._part += 1
        self._held, self._size = [], 0


async def close(
    session: AsyncSession, pool: Pool, resource_ids: list[uuid.UUID], number: int
) -> dict[uuid.UUID, int]:
    """End the open rows of files at version ``number`` and drop their segments; how many
    rows each file had."""
    if not resource_ids:
        return {}
    open_rows = (
        PoolRow.pool_id == pool.id,
        PoolRow.resource_id.in_(resource_ids),
        PoolRow.to_number.is_(None),
    )
    counts = (
        await session.execute(
            select(PoolRow.resource_id, func.count())
            .where(*open_rows)
            .group_by(PoolRow.resource_id)
        )
    ).all()
    await session.execute(
        delete(PoolSegment).where(
            PoolSegment.pool_id == pool.id, PoolSegment.resource_id.in_(resource_ids)
        )
    )
    await session.execute(
        update(PoolRow)
        .where(*open_rows)
        .values(to_number=number)
        .execution_options(synchronize_session=False)
    )
    return {resource_id: int(count) for resource_id, count in counts}


def _opening(records: Records, size: int) -> tuple[list[str], list[list[str]]]:
    """A file's header and first batch, in one trip to a worker thread."""
    return records.header(), records.batch(size)


async def add(
    pending: Pending,
    pool: Pool,
    source: Member,
    path: Path,
    number: int,
    *,
    public_url: str,
) -> tuple[int, list[str]]:
    """Pool a source version's rows from its file at ``path``, from version ``number``: rows
    identical on every field are kept once. The rows added, and their primary keys (the
    caller looks up conflicts for all the files of an update at once)."""
    names = [f["name"] for f in pool.fields]
    tail = provenance(source, public_url)
    key_at = [names.index(k) for k in pool.primary_key if k in names]
    records = Records(path, source.shape)
    segments = Segments.of(
        pending, pool, source.version.id, source.version.resource_id, source.organization.slug
    )
    seen: set[tuple[str, ...]] = set()
    keys: list[str] = []
    added = 0
    try:
        heading, batch = await asyncio.to_thread(_opening, records, BATCH)
        where = {name: i for i, name in enumerate(heading)}
        at = [where.get(name) for name in names]
        position = 2
        while batch:
            for record in batch:
                values = tuple(record[i] if i is not None and i < len(record) else "" for i in at)
                at_position, position = position, position + 1
                if values in seen or not any(values):
                    continue
                seen.add(values)
                key = KEY_SEPARATOR.join(values[i] for i in key_at) if key_at else None
                if key is not None:
                    keys.append(key)
                text = line([*values, *tail])
                await segments.add(text)
                await pending.row(
                    {
                        "pool_id": pool.id,
                        "version_id": source.version.id,
                        "position": at_position,
                        "resource_id": source.version.resource_id,
                        "organization": source.organization.slug,
                        "key": key,
                        "line": text,
                        "from_number": number,
                        "to_number": None,
                    }
                )
                added += 1
            batch = await asyncio.to_thread(records.batch, BATCH)
        await segments.flush()
    finally:
        records.close()
    return added, keys


async def conflicts(session: AsyncSession, pool: Pool, keys: list[str] | None = None) -> list[str]:
    """Primary keys held by more than one file of the pool now (among ``keys`` if given)."""
    if not pool.primary_key:
        return []
    found: list[str] = []
    chunks = [keys[i : i + 500] for i in range(0, len(keys), 500)] if keys is not None else [None]
    for chunk in chunks:
        query = (
            select(PoolRow.key)
            .where(PoolRow.pool_id == pool.id, PoolRow.to_number.is_(None))
            .group_by(PoolRow.key)
            .having(func.count(func.distinct(PoolRow.resource_id)) > 1)
        )
        if chunk is not None:
            query = query.where(PoolRow.key.in_(chunk))
        else:
            query = query.where(PoolRow.key.is_not(None))
        found += [k for k in await session.scalars(query) if k is not None]
    return sorted(set(found))


async def reshape(
    session: AsyncSession, pool: Pool, old: list[str], new: list[str], number: int
) -> int:
    """Give the open rows new columns (a newer schema version joined) from version ``number``:
    each value follows its field by name, a field a row lacks is empty. The rows are closed and
    added again, never rewritten, so older versions can still be written from them. Rare, and
    the one step whose work is the pool's size; how many rows."""
    if old == new:
        return 0
    width = len(old)
    rows = (
        (
            await session.execute(
                select(PoolRow)
                .where(PoolRow.pool_id == pool.id, PoolRow.to_number.is_(None))
                .order_by(PoolRow.version_id, PoolRow.position)
            )
        )
        .scalars()
        .all()
    )
    # Rows added by this very update belong to no published version yet: rewritten in place.
    await session.execute(
        update(PoolRow)
        .where(
            PoolRow.pool_id == pool.id,
            PoolRow.to_number.is_(None),
            PoolRow.from_number < number,
        )
        .values(to_number=number)
        .execution_options(synchronize_session=False)
    )
    await session.execute(delete(PoolSegment).where(PoolSegment.pool_id == pool.id))
    pending = Pending(session)
    segments: Segments | None = None
    for row in rows:
        values = next(csv.reader([row.line]))
        by_name = dict(zip(old, values[:width], strict=False))
        rewritten = line([*(by_name.get(n, "") for n in new), *values[width:]])
        if segments is None or segments.version_id != row.version_id:
            if segments is not None:
                await segments.flush()
            segments = Segments.of(pending, pool, row.version_id, row.resource_id, row.organization)
        await segments.add(rewritten)
        if row.from_number == number:
            row.line = rewritten
            continue
        await pending.row(
            {
                "pool_id": pool.id,
                "version_id": row.version_id,
                "position": row.position,
                "from_number": number,
                "to_number": None,
                "resource_id": row.resource_id,
                "organization": row.organization,
                "key": row.key,
                "line": rewritten,
            }
        )
    if segments is not None:
        await segments.flush()
    await pending.flush()
    return len(rows)
