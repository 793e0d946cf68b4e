"""The scheduler: open each release when its time comes.

It sleeps until the next due release, but never more than a second, so a plan made elsewhere
(another replica), a moved event or a clock that jumped is noticed within a second. Several
replicas may run: opening is a conditional update that only one transaction wins (see
releases.open_due). A scheduler that was down opens what fell due meanwhile as soon as it is
back, and the delay is recorded on the release.
"""

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from datacommune.events import releases
from datacommune.shared.outbox import OutboxRelay
from datacommune.shared.process import background
from datacommune.shared.process.background import Waker

log = structlog.get_logger()

POLL_SECONDS = 1.0


class Scheduler:
    """The background task; ``wake`` it when a plan changes."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        reader: async_sessionmaker[AsyncSession],
        relay: OutboxRelay,
        *,
        source: str,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._reader = reader
        self._relay = relay
        self._source = source
        self._waker = Waker()

    def wake(self) -> None:
        self._waker.wake()

    async def tick(self) -> int:
        """Open what is due now; how many opened."""
        async with self._sessionmaker.begin() as session:
            opened = await releases.open_due(session, source=self._source)
        if opened:
            self._relay.wake()
            log.info("releases_opened", count=opened)
        return opened

    async def run(self) -> None:
        async def one_pass() -> float:
            await self.tick()
            async with self._reader() as session:
                due = await releases.next_due(session)
            return background.until(due, POLL_SECONDS)

        await background.forever(
            one_pass, self._waker, poll=POLL_SECONDS, failed="scheduler_tick_failed"
        )
