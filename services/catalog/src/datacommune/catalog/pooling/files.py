"""Pooled versions' files: only the newest are kept in storage; an older one is written again
from the rows, byte for byte, when someone asks for it.

Every version's file is a pure function of the rows (kept once, with their version range,
never rewritten) and of the version's columns (kept on ``PoolVersion``): the header, then the
rows of that version in the order the segments give them (organization, source version,
position). The rebuilt file is checked against the version's published sha256 before it is
stored, so a download never serves other bytes than the ones first published.
"""

from pathlib import Path

import structlog
from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from datacommune.catalog.pooling import pooled_rows
from datacommune.catalog.tables import PoolRow, PoolVersion, Version
from datacommune.shared.process.scratch import held_dir
from datacommune.shared.storage import ObjectStore

log = structlog.get_logger()

# The newest versions of a pool whose files stay in storage (the current one and the one
# before it, which readers that started a download just before an update may still read).
KEPT = 2
SCRATCH_PREFIX = "datacommune-pool-file-"


async def write_version(session: AsyncSession, made: PoolVersion, path: Path) -> tuple[str, int]:
    """Write a version's file from its rows at ``path``: its sha256 and size."""
    n = made.number
    result = await session.stream(
        select(PoolRow.line)
        .where(
            PoolRow.pool_id == made.pool_id,
            PoolRow.from_number <= n,
            or_(PoolRow.to_number.is_(None), PoolRow.to_number > n),
        )
        .order_by(PoolRow.organization, PoolRow.version_id, PoolRow.position)
        .execution_options(yield_per=5_000)
    )
    return await pooled_rows.write_file(path, made.fields, result.scalars())


async def restore(
    sessionmaker: async_sessionmaker[AsyncSession], store: ObjectStore, version: Version
) -> bool:
    """Put back in storage the file of a pooled version that was not kept; False when the
    version is not pooled data (or its rows do not give back its bytes: never served then)."""
    async with sessionmaker() as session:
        made = await session.scalar(select(PoolVersion).where(PoolVersion.version_id == version.id))
        if made is None:
            return False
        with held_dir(prefix=SCRATCH_PREFIX) as scratch:
            path = Path(scratch) / "version.csv"
            sha256, _ = await write_version(session, made, path)
            if sha256 != version.sha256:
                log.error("pool_version_not_rebuilt", version=str(version.id), sha256=sha256)
                return False
            await store.move_file(version.object_key, path, media_type="text/csv")
    async with sessionmaker.begin() as session:
        # Stored again: the next update prunes it again.
        await session.execute(
            update(PoolVersion).where(PoolVersion.version_id == version.id).values(kept=True)
        )
    log.info("pool_version_rebuilt", version=str(version.id))
    return True


async def store_missing(sessionmaker: async_sessionmaker[AsyncSession], store: ObjectStore) -> int:
    """Store again the newest version's file of each pool if it is not in storage (the
    pooler stores it just after the version commits, and may have been killed in between):
    the row loader reads it. How many."""
    async with sessionmaker() as session:
        newest = (
            select(PoolVersion.pool_id, func.max(PoolVersion.number).label("number"))
            .group_by(PoolVersion.pool_id)
            .subquery()
        )
        versions = list(
            await session.scalars(
                select(Version)
                .join(PoolVersion, PoolVersion.version_id == Version.id)
                .join(
                    newest,
                    (newest.c.pool_id == PoolVersion.pool_id)
                    & (newest.c.number == PoolVersion.number),
                )
            )
        )
    restored = 0
    for version in versions:
        if not await store.exists(version.object_key):
            restored += await restore(sessionmaker, store, version)
    return restored


async def prune(
    sessionmaker: async_sessionmaker[AsyncSession], store: ObjectStore, pool_id: object
) -> int:
    """Delete the stored files of a pool's versions older than the newest ``KEPT`` (a file
    another kept version shares, same bytes, stays); how many."""
    async with sessionmaker() as session:
        newest = await session.scalar(
            select(func.max(PoolVersion.number)).where(PoolVersion.pool_id == pool_id)
        )
        if newest is None:
            return 0
        old = (
            await session.execute(
                select(PoolVersion.version_id, Version.object_key)
                .join(Version, Version.id == PoolVersion.version_id)
                .where(
                    PoolVersion.pool_id == pool_id,
                    PoolVersion.kept.is_(True),
                    PoolVersion.number <= newest - KEPT,
                )
            )
        ).all()
        still = set(
            await session.scalars(
                select(Version.object_key)
                .join(PoolVersion, PoolVersion.version_id == Version.id)
                .where(PoolVersion.pool_id == pool_id, PoolVersion.number > newest - KEPT)
            )
        )
    for _, key in old:
        if key not in still:
            # Deleted before it is marked: a crash in between leaves a version marked kept
            # whose file is gone, which a download writes again.
            await store.delete(key)
    if old:
        async with sessionmaker.begin() as session:
            await session.execute(
                update(PoolVersion)
                .where(PoolVersion.version_id.in_([v for v, _ in old]))
                .values(kept=False)
            )
    return len(old)
