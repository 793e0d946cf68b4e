"""What catalog does with events: publish each validated file once, open each release once."""

from collections.abc import Callable

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from datacommune.catalog.core import datasets, visibility
from datacommune.catalog.core.hooks import HOOKS
from datacommune.catalog.tables import ProcessedEvent
from datacommune.shared import events
from datacommune.shared.bus import Batch, Bus
from datacommune.shared.outbox import OutboxRelay, first_time, utcnow

DURABLE = "catalog"
# Files published in one transaction at most: enough to pay a transaction's fixed costs once
# for many, few enough that the write lock (SQLite's) is not held for long.
BATCH = 32
log = structlog.get_logger()


async def subscribe(
    bus: Bus,
    sessionmaker: async_sessionmaker[AsyncSession],
    relay: OutboxRelay,
    *,
    source: str,
    public_url: str,
    on_published: Callable[[], None],
    on_release_recorded: Callable[[], None],
) -> None:
    """Attach catalog's durable consumer of ``file.validated``."""

    async def on_validated(batch: Batch) -> None:
        # The files waiting are published in one transaction (a backlog drains faster); if one
        # fails, the bus hands each of them over again alone.
        async with sessionmaker.begin() as session:
            for event in batch:
                assert isinstance(event, events.FileValidated)
                if await first_time(session, ProcessedEvent, event):
                    await datasets.publish(session, event, source=source, public_url=public_url)
        relay.wake()
        on_published()

    async def on_release(event: events.AnyEvent) -> None:
        assert isinstance(event, events.ReleaseOpened)
        async with sessionmaker.begin() as session:
            if not await first_time(session, ProcessedEvent, event):
                return
            await visibility.record_opening(session, event)
            for dataset in await visibility.apply_due(session, public_url=public_url):
                await HOOKS.dataset_changed(session, dataset)
        on_release_recorded()
        log.info(
            "release_recorded",
            release=str(event.release_id),
            delay=(utcnow() - event.due_at).total_seconds(),
        )

    await bus.subscribe_batches(DURABLE, on_validated, "file.validated.v1", batch=BATCH)
    await bus.subscribe(DURABLE, on_release, "release.opened.v1")
