"""Writing a pool's next file: the unchanged bytes copied from the newest version's file, only
the changed files' segments read from the database.

A version's file is the header, then every segment in a fixed order (organization, source
version, part). The pool keeps the layout of its newest file (each segment's size, in that
order), so the next version knows where each segment it keeps lies in the stored file: those
bytes are read from a copy of that file (a kernel copy on a local disk), the joining files'
segments from the database. Without a layout (a pool from before it existed), with other
columns (a newer schema version joined), or with the old file not in storage or not of the
size its layout says, the whole file is written from the database, as the first one is. Either
way the bytes are the same (tests/catalog/test_pooled_file.py checks them against the rows).
"""

import asyncio
import uuid
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from datacommune.catalog.pooling import pooled_rows
from datacommune.catalog.tables import Pool, PoolSegment, PoolVersion, Version
from datacommune.shared.storage import ObjectMissing, ObjectStore

_ORDER = (PoolSegment.organization, PoolSegment.version_id, PoolSegment.part)


async def write(
    session: AsyncSession, pool: Pool, store: ObjectStore, path: Path
) -> tuple[str, int, str]:
    """Write the pool's file (its current segments) at ``path`` and record its layout on the
    pool: its sha256, size, and how it was made (``copied`` or ``from-database``)."""
    fields = [f["name"] for f in pool.fields]
    header = pooled_rows.header(fields).encode()
    segments = [
        (version_id, part)
        for version_id, part in await session.execute(
            select(PoolSegment.version_id, PoolSegment.part)
            .where(PoolSegment.pool_id == pool.id)
            .order_by(*_ORDER)
        )
    ]
    sizes: dict[tuple[str, int], int] = {}
    old = await _old_file(session, pool, fields)
    if old is not None:
        key, kept, size = old
        copy = path.with_name(f"{path.name}.old")
        try:
            # One copy, made by the store (a kernel copy on a local disk), read in ranges.
            await store.download(key, copy)
            if await asyncio.to_thread(lambda: copy.stat().st_size) == size:
                with copy.open("rb") as handle:
                    written = await _write(
                        path, header, segments, sizes, session, pool, handle, kept
                    )
                pool.layout = _layout(pool, fields, header, segments, sizes)
                return *written, "copied"
        except ObjectMissing:
            pass  # gone from storage: written from the database
        finally:
            await asyncio.to_thread(copy.unlink, missing_ok=True)
        sizes.clear()
    written = await _write(path, header, segments, sizes, session, pool, None, {})
    pool.layout = _layout(pool, fields, header, segments, sizes)
    return *written, "from-database"


async def _write(
    path: Path,
    header: bytes,
    segments: list[tuple[uuid.UUID, int]],
    sizes: dict[tuple[str, int], int],
    session: AsyncSession,
    pool: Pool,
    old: BinaryIO | None,
    kept: dict[tuple[str, int], tuple[int, int]],
) -> tuple[str, int]:
    with path.open("wb") as handle:
        out = pooled_rows.FileOut(handle, old)
        await out.add(header)
        for version_id, part in segments:
            where = kept.get((version_id.hex, part))
            if where is not None:
                await out.copy(*where)
                size = where[1]
            else:
                chunk = await _segment(session, pool, version_id, part)
                await out.add(chunk)
                size = len(chunk)
            sizes[(version_id.hex, part)] = size
        await out.flush()
    return out.digest.hexdigest(), out.size


async def _segment(session: AsyncSession, pool: Pool, version_id: uuid.UUID, part: int) -> bytes:
    """A segment from the database (about a megabyte): a joining file's, or any when the
    old file cannot be copied from."""
    text = await session.scalar(
        select(PoolSegment.text).where(
            PoolSegment.pool_id == pool.id,
            PoolSegment.version_id == version_id,
            PoolSegment.part == part,
        )
    )
    assert text is not None
    return text.encode()


async def _old_file(
    session: AsyncSession, pool: Pool, fields: list[str]
) -> tuple[str, dict[tuple[str, int], tuple[int, int]], int] | None:
    """The newest version's stored file, where each of its segments lies, and its size, if
    its layout is known and its columns are the ones written now."""
    layout = pool.layout
    if not layout or layout.get("number") != pool.number or layout.get("fields") != fields:
        return None
    key = await session.scalar(
        select(Version.object_key)
        .join(PoolVersion, PoolVersion.version_id == Version.id)
        .where(PoolVersion.pool_id == pool.id, PoolVersion.number == pool.number)
    )
    if key is None:
        return None
    kept: dict[tuple[str, int], tuple[int, int]] = {}
    offset = int(layout["header"])
    for version_hex, part, size in layout["segments"]:
        kept[(version_hex, part)] = (offset, size)
        offset += size
    return key, kept, offset


def _layout(
    pool: Pool,
    fields: list[str],
    header: bytes,
    segments: list[tuple[uuid.UUID, int]],
    sizes: dict[tuple[str, int], int],
) -> dict[str, Any]:
    """The file just written, for the next version: it becomes the newest at this commit."""
    return {
        "number": pool.number + 1,
        "fields": fields,
        "header": len(header),
        "segments": [
            [version_id.hex, part, sizes[(version_id.hex, part)]] for version_id, part in segments
        ],
    }
