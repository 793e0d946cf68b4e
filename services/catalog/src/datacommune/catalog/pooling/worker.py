"""The pooler: the background task that turns waiting work into consolidated versions.

It waits ``WINDOW`` after being woken so that a burst of publications (a département's
communes sending their files at the same council deadline) makes one version, then takes one
pool at a time, locked against other catalog replicas (``SKIP LOCKED`` on PostgreSQL; SQLite
has one writer), and does all of its waiting work in one transaction.
"""

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import structlog
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from datacommune.catalog.pooling import files
from datacommune.catalog.pooling.consolidate import consolidate
from datacommune.catalog.rows.store import RowStore
from datacommune.catalog.tables import Pool, PoolChange
from datacommune.shared.process import background
from datacommune.shared.process.background import Waker
from datacommune.shared.process.scratch import held_dir
from datacommune.shared.storage import ObjectStore

log = structlog.get_logger()

WINDOW = 0.3
# Files taken into one version at most: a burst larger than this (the hub validates some ten
# files a second) makes a few versions, each made within about a second, rather than one that
# keeps every file of the burst waiting for the slowest.
FILES_PER_VERSION = 20
POLL_SECONDS = 1.0
SCRATCH_PREFIX = "datacommune-pool-"


class Pooler:
    """``wake`` it after a change that recorded pool work has committed."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        store: ObjectStore,
        *,
        public_url: str,
        rows: RowStore | None = None,
        on_version: Callable[[], None] = lambda: None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._store = store
        self._public_url = public_url
        self._on_version = on_version
        self._rows = rows
        self._waker = Waker()

    def wake(self) -> None:
        self._waker.wake()

    async def run(self) -> None:
        async def one_pass() -> None:
            await asyncio.sleep(WINDOW)
            while await self.apply_next():
                pass

        await background.forever(one_pass, self._waker, poll=POLL_SECONDS, failed="pooling_failed")

    async def apply_next(self) -> bool:
        """Apply the waiting work of one pool; False when no pool has any (or all that have
        are being applied by another replica)."""
        started = time.perf_counter()
        with held_dir(prefix=SCRATCH_PREFIX) as scratch:
            async with self._sessionmaker.begin() as session:
                # The pool whose work has waited longest: a busy pool never starves the others.
                waiting = (
                    select(PoolChange.pool_id, func.min(PoolChange.created_at).label("since"))
                    .group_by(PoolChange.pool_id)
                    .subquery()
                )
                pool = await session.scalar(
                    select(Pool)
                    .join(waiting, waiting.c.pool_id == Pool.id)
                    .order_by(waiting.c.since)
                    .limit(1)
                    .with_for_update(of=Pool, skip_locked=True)
                )
                if pool is None:
                    return False
                work = (
                    await session.execute(
                        select(PoolChange.id, PoolChange.resource_id)
                        .where(PoolChange.pool_id == pool.id)
                        .order_by(PoolChange.created_at)
                        .limit(FILES_PER_VERSION)
                    )
                ).all()
                made = await consolidate(
                    session,
                    pool,
                    {resource_id for _, resource_id in work},
                    store=self._store,
                    scratch=Path(scratch),
                    public_url=self._public_url,
                )
                await session.execute(
                    delete(PoolChange).where(PoolChange.id.in_([change for change, _ in work]))
                )
        if made is not None:
            log.info(
                "pool_version",
                pool=pool.slug,
                number=made.version.number,
                rows=made.version.rows,
                files=len(work),
                seconds=round(time.perf_counter() - started, 3),
            )
            if self._rows is not None:
                for version_id in made.superseded:
                    await self._rows.drop(version_id)
            await files.prune(self._sessionmaker, self._store, pool.id)
            self._on_version()
        return True
