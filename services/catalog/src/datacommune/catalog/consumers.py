"""What catalog does with events: publish each validated file once."""

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from datacommune.catalog import datasets
from datacommune.catalog.tables import ProcessedEvent
from datacommune.shared import events
from datacommune.shared.bus import Bus
from datacommune.shared.outbox import OutboxRelay, first_time

DURABLE = "catalog"


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

    await bus.subscribe(DURABLE, on_validated, "file.validated.v1", concurrency=4)
