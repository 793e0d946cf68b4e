"""Whole-table exports kept in storage: the first request for a version's whole table in a
format writes it once (content-addressed, like uploads) and records it; every request then
serves that file like a published one — length, ETag, HEAD, ranges, 304 — which readers over
HTTP need: pyarrow, DuckDB's httpfs and fsspec read a Parquet file by ranges, after a HEAD.

Two replicas asked at once may both write it: the bytes land under their own hash (never
deleted) and the record names one of them, so every answer names a whole file. A record whose
file went missing (a partial restore) is made again.
"""

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import select

from datacommune.catalog.core.downloads import Stored
from datacommune.catalog.rows.exports import MEDIA_TYPES, SCRATCH_PREFIX
from datacommune.catalog.tables import RowExport
from datacommune.shared.db import upsert
from datacommune.shared.process.runtime import Runtime
from datacommune.shared.process.scratch import held_dir
from datacommune.shared.storage import content_key


async def find(runtime: Runtime, version_id: uuid.UUID, extension: str) -> RowExport | None:
    """The kept export, if one was made and its file is there."""
    async with runtime.reader() as session:
        kept = await session.get(RowExport, (version_id, extension))
    if kept is None or not await runtime.store.exists(kept.object_key):
        return None
    return kept


async def keep(
    runtime: Runtime, version_id: uuid.UUID, extension: str, stream: AsyncIterator[bytes]
) -> RowExport:
    """Write ``stream`` to storage and record it (over a record whose file is gone)."""
    with held_dir(prefix=SCRATCH_PREFIX) as tmp:
        path = Path(tmp) / f"export.{extension}"
        digest = hashlib.sha256()
        size = 0
        with path.open("wb") as out:
            async for chunk in stream:
                await asyncio.to_thread(out.write, chunk)
                digest.update(chunk)
                size += len(chunk)
        sha256 = digest.hexdigest()
        key = content_key(sha256)
        if not await runtime.store.exists(key):
            await runtime.store.put_file(key, path, media_type=MEDIA_TYPES[extension])
    values = {
        "version_id": version_id,
        "format": extension,
        "object_key": key,
        "sha256": sha256,
        "size": size,
    }
    async with runtime.sessionmaker.begin() as session:
        await upsert(session, RowExport, values, keys=["version_id", "format"])
        kept = await session.scalar(
            select(RowExport).where(
                RowExport.version_id == version_id, RowExport.format == extension
            )
        )
    assert kept is not None
    return kept


def stored(kept: RowExport, filename: str) -> Stored:
    """The kept export as a stored file to serve."""
    media_type, _, charset = MEDIA_TYPES[kept.format].partition("; charset=")
    return Stored(kept.object_key, kept.sha256, kept.size, filename, media_type, charset or None)
