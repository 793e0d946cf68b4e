"""The pooler: the background task that turns waiting work into consolidated versions.

It waits ``WINDOW`` after being woken so that a burst of publications (a département's
communes sending their files at the same council deadline) makes one version, then takes one
pool at a time, locked against other catalog replicas (``SKIP LOCKED`` on PostgreSQL; SQLite
has one writer), and does all of its waiting work in one transaction.
"""

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from datacommune.catalog.pooling import files
from datacommune.catalog.pooling.consolidate import Made, consolidate, store_file
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
        self._following: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        self._waker.wake()

    async def run(self) -> None:
        async def one_pass() -> None:
            await asyncio.sleep(WINDOW)
            try:
                while await self.apply_next(overlap=True):
                    pass
            finally:
                await asyncio.gather(*self._following)

        try:
            await files.store_missing(self._sessionmaker, self._store)
        except Exception:  # the downloads still write a missing file again themselves
            log.exception("pool_files_not_checked")
        await background.forever(one_pass, self._waker, poll=POLL_SECONDS, failed="pooling_failed")

    async def apply_next(self, *, overlap: bool = False) -> bool:
        """Apply the waiting work of one pool; False when no pool has any (or all that have
        are being applied by another replica). What follows a version's commit (storing its
        file, dropping the loaded rows it supersedes, pruning older files) is done before
        returning, or with ``overlap`` alongside the next update, which then does not wait
        for the disk."""
        started = time.perf_counter()
        # The scratch folder lives until the version's file is stored: with ``overlap``, the
        # task that stores it closes it.
        folder = contextlib.ExitStack()
        scratch = Path(folder.enter_context(held_dir(prefix=SCRATCH_PREFIX)))
        try:
            async with self._sessionmaker.begin() as session:
                pool = await _oldest_waiting(session)
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
                    scratch=scratch,
                    public_url=self._public_url,
                )
                await session.execute(
                    delete(PoolChange).where(PoolChange.id.in_([change for change, _ in work]))
                )
            if made is None:
                return True
            log.info(
                "pool_version",
                pool=pool.slug,
                number=made.version.number,
                rows=made.version.rows,
                files=len(work),
                seconds=round(time.perf_counter() - started, 3),
                **made.steps,
                written=made.written,
            )
            after = self._after(made, pool.id, folder.pop_all())
            if not overlap:
                await after
                return True
            # One after the other, in version order: a version's file is never stored after
            # a newer update has pruned it.
            task = asyncio.create_task(_in_turn(self._following.copy(), after))
            self._following.add(task)
            task.add_done_callback(self._following.discard)
            return True
        finally:
            folder.close()

    async def _after(self, made: Made, pool_id: uuid.UUID, folder: contextlib.ExitStack) -> None:
        """Once a version has committed: store its file, drop the loaded rows it supersedes,
        prune older files, and tell the row loader and the webhook sender."""
        with folder:
            await store_file(self._store, made)
        if self._rows is not None:
            for version_id in made.superseded:
                await self._rows.drop(version_id)
        await files.prune(self._sessionmaker, self._store, pool_id)
        self._on_version()


async def _in_turn(earlier: set[asyncio.Task[None]], then: Coroutine[Any, Any, None]) -> None:
    """``then``, once the ``earlier`` tasks are done (whether they failed or not)."""
    await asyncio.gather(*earlier, return_exceptions=True)
    await then


async def _oldest_waiting(session: AsyncSession) -> Pool | None:
    """The pool whose work has waited longest (a busy pool never starves the others), locked
    against other replicas; None if no pool waits or all that wait are being applied."""
    waiting = (
        select(PoolChange.pool_id, func.min(PoolChange.created_at).label("since"))
        .group_by(PoolChange.pool_id)
        .subquery()
    )
    return await session.scalar(
        select(Pool)
        .join(waiting, waiting.c.pool_id == Pool.id)
        .order_by(waiting.c.since)
        .limit(1)
        .with_for_update(of=Pool, skip_locked=True)
    )
