"""What catalog does with events: publish each validated file once, open each release once."""

import asyncio
from collections.abc import Callable

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from datacommune.catalog import datasets, search, visibility
from datacommune.catalog.tables import ProcessedEvent
from datacommune.shared import events
from datacommune.shared.bus import Bus, NotYet
from datacommune.shared.outbox import OutboxRelay, first_time, utcnow

DURABLE = "catalog"
# A release event that arrives early (clocks disagree) waits this long at most, in the handler.
EARLY_WAIT_SECONDS = 30.0
log = structlog.get_logger()


async def subscribe(
    bus: Bus,
    sessionmaker: async_sessionmaker[AsyncSession],
    relay: OutboxRelay,
    *,
    source: str,
    public_url: str,
    on_published: Callable[[], None],
) -> None:
    """Attach catalog's durable consumer of ``file.validated``."""

    async def on_validated(event: events.AnyEvent) -> None:
        assert isinstance(event, events.FileValidated)
        async with sessionmaker.begin() as session:
            if not await first_time(session, ProcessedEvent, event):
                return
            await datasets.publish(session, event, source=source, public_url=public_url)
        relay.wake()
        on_published()

    async def on_release(event: events.AnyEvent) -> None:
        assert isinstance(event, events.ReleaseOpened)
        early = (event.due_at - utcnow()).total_seconds()
        if early > 0:
            # Never before its time, even if this machine's clock is behind the scheduler's.
            if early > EARLY_WAIT_SECONDS:
                raise NotYet(f"release {event.release_id} is due in {early:.0f} s")
            await asyncio.sleep(early)
        async with sessionmaker.begin() as session:
            if not await first_time(session, ProcessedEvent, event):
                return
            for dataset in await visibility.open_release(session, event, public_url=public_url):
                await search.reindex(session, dataset)
        on_published()
        log.info(
            "release_opened",
            release=str(event.release_id),
            delay=(utcnow() - event.due_at).total_seconds(),
        )

    await bus.subscribe(DURABLE, on_validated, "file.validated.v1", concurrency=4)
    await bus.subscribe(DURABLE, on_release, "release.opened.v1")
