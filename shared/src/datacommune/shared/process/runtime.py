"""What every service holds while it runs: database, bus, object store and outbox relay.

Each service's lifespan opens a ``Runtime``, adds its own consumers, and closes it on the way
out, so start-up and shutdown happen the same way, in the same order, everywhere.
"""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from datacommune.shared import metrics
from datacommune.shared.bus import Bus
from datacommune.shared.db import make_engine, make_reader, make_sessionmaker
from datacommune.shared.outbox import OutboxRecord, OutboxRelay, ProcessedEventRecord, utcnow
from datacommune.shared.settings import ServiceSettings
from datacommune.shared.storage import ObjectStore, open_store


@dataclass
class Runtime:
    """The adapters of one running service."""

    name: str
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    reader: async_sessionmaker[AsyncSession]
    bus: Bus
    store: ObjectStore
    relay: OutboxRelay

    async def readiness(self) -> dict[str, str]:
        """Each dependency and whether it answers: ``ok`` or what went wrong."""
        checks: dict[str, str] = {
            "nats": "ok" if self.bus.connected else "not connected",
            "consumers": "ok" if self.bus.consuming else "a consumer loop stopped",
        }
        try:
            async with self.reader() as session:
                await session.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = type(exc).__name__
        try:
            await self.store.ping()
            checks["storage"] = "ok"
        except Exception as exc:
            checks["storage"] = type(exc).__name__
        return checks

    async def measure(self) -> None:
        """Set the gauges read at each scrape of ``/metrics``: the outbox backlog and the
        connections in use. A database away raises, and /metrics answers with the gauges as
        they were (``metrics_router``)."""
        pool = self.engine.pool
        if hasattr(pool, "checkedout"):
            metrics.DB_CONNECTIONS.labels(self.name).set(pool.checkedout())
        waiting, oldest = await self.relay.backlog()
        metrics.OUTBOX_BACKLOG.labels(self.name).set(waiting)
        age = (utcnow() - oldest).total_seconds() if oldest else 0.0
        metrics.OUTBOX_OLDEST.labels(self.name).set(max(0.0, age))


@asynccontextmanager
async def open_runtime(
    settings: ServiceSettings,
    *,
    outbox: type[OutboxRecord],
    processed: type[ProcessedEventRecord] | None = None,
    before_publish: Callable[[ObjectStore, Bus], Callable[[str, str], Awaitable[None]]]
    | None = None,
) -> AsyncIterator[Runtime]:
    """Connect everything, start the relay; on exit stop consumers first, then the rest.

    ``before_publish`` makes the relay's hook from the store and the bus (an ingest node ships
    a file's bytes before its event)."""
    engine = make_engine(settings.database)
    sessionmaker = make_sessionmaker(engine)
    store = await open_store(settings.storage)
    bus = Bus(settings.nats)
    await bus.connect(name=settings.source)
    relay = OutboxRelay(
        sessionmaker,
        outbox,
        bus,
        poll=settings.http.outbox_poll,
        processed=processed,
        keep_sent=timedelta(seconds=settings.outbox.keep_sent_seconds),
        keep_processed=timedelta(seconds=settings.outbox.keep_processed_seconds),
        prune_every=settings.outbox.prune_every_seconds,
    )
    if before_publish is not None:
        relay.before_publish = before_publish(store, bus)
    relay.start()
    try:
        yield Runtime(settings.source, engine, sessionmaker, make_reader(engine), bus, store, relay)
    finally:
        await relay.stop()
        await bus.close()
        await engine.dispose()
