"""Catalog's own clock for releases: opens, at their time, the releases the scheduler announced
early (its clock ahead of ours), and any whose opening a crash interrupted.

In the usual case the ``release.opened.v1`` event arrives after its due time and the consumer
applies it at once; this task only sleeps until the next recorded release that is not applied
yet, never more than a second.
"""

from collections.abc import Callable

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from datacommune.catalog.core import visibility
from datacommune.catalog.core.hooks import HOOKS
from datacommune.shared.process import background
from datacommune.shared.process.background import Waker

log = structlog.get_logger()

POLL_SECONDS = 1.0


class ReleaseClock:
    """The background task; ``wake`` it when an opening is recorded."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        reader: async_sessionmaker[AsyncSession],
        *,
        public_url: str,
        on_applied: Callable[[], None] = lambda: None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._on_applied = on_applied
        self._reader = reader
        self._public_url = public_url
        self._waker = Waker()

    def wake(self) -> None:
        self._waker.wake()

    async def tick(self) -> int:
        """Apply what is due; how many datasets opened."""
        async with self._sessionmaker.begin() as session:
            changed = await visibility.apply_due(session, public_url=self._public_url)
            for dataset in changed:
                await HOOKS.dataset_changed(session, dataset)
        return len(changed)

    async def run(self) -> None:
        async def one_pass() -> float:
            if await self.tick():
                log.info("release_applied_by_clock")
                self._on_applied()
            async with self._reader() as session:
                due = await visibility.next_due(session)
            return background.until(due, POLL_SECONDS)

        await background.forever(
            one_pass, self._waker, poll=POLL_SECONDS, failed="release_clock_failed"
        )
