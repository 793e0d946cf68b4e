"""Transactional outbox and processed-event log, shared in shape by every service.

A state change and the event it causes are written in one transaction; the relay publishes
afterwards with ``Nats-Msg-Id`` = the event id and marks the row sent only after JetStream
acknowledged it. Each service declares its own tables from these mixins, in its own database.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import structlog
from sqlalchemy import String, Text, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from datacommune.shared.bus import Bus
from datacommune.shared.db import UTCDateTime
from datacommune.shared.events import Event

log = structlog.get_logger()


def utcnow() -> datetime:
    """Now, in UTC, aware."""
    return datetime.now(UTC)


class OutboxRecord:
    """Columns of an outbox table: one row per event waiting to be, or already, published."""

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None, index=True)


class ProcessedEventRecord:
    """Columns of a processed-event table: the ids a consumer has already applied."""

    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def enqueue(session: AsyncSession, model: type[OutboxRecord], event: Event) -> None:
    """Add ``event`` to the outbox inside the caller's transaction."""
    row = model()
    row.id, row.type, row.payload = str(event.id), event.type, event.model_dump_json()
    session.add(row)


async def first_time(
    session: AsyncSession, model: type[ProcessedEventRecord], event: Event
) -> bool:
    """Record ``event`` as processed in this transaction; False if it was already."""
    if await session.get(model, str(event.id)) is not None:
        return False
    row = model()
    row.event_id, row.type = str(event.id), event.type
    session.add(row)
    await session.flush()
    return True


class OutboxRelay:
    """Publishes outbox rows in order; woken right after a commit, else every ``poll`` seconds."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        model: type[OutboxRecord],
        bus: Bus,
        *,
        poll: float = 1.0,
        batch: int = 100,
    ) -> None:
        # Called with each row's type and payload before it is published (an ingest node
        # ships a file's bytes before the event that announces it).
        self.before_publish: Callable[[str, str], Awaitable[None]] | None = None
        self.sessionmaker = sessionmaker
        self.model = model
        self.bus = bus
        self.poll = poll
        self.batch = batch
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Ask for a pass now (call after committing rows)."""
        self._wake.set()

    def start(self) -> None:
        """Run in the background until ``stop``."""
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stop at once; a row published but not yet marked is published again next start,
        and JetStream drops the repeat by its id."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            # Cleared before the pass, so a wake during the pass triggers another one at once.
            self._wake.clear()
            try:
                while await self.relay_once() == self.batch:
                    pass
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # NATS or the database is away; rows stay unsent and are retried.
                log.warning("outbox_relay_failed", error=repr(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll)

    async def relay_once(self) -> int:
        """Publish up to ``batch`` unsent rows; return how many were sent."""
        model = self.model
        async with self.sessionmaker() as session:
            rows = (
                await session.execute(
                    select(model.id, model.type, model.payload)
                    .where(model.published_at.is_(None))
                    .order_by(model.created_at)
                    .limit(self.batch)
                )
            ).all()
        sent = []
        for row_id, type_, payload in rows:
            if self.before_publish is not None:
                await self.before_publish(type_, payload)
            await self.bus.publish_raw(type_, payload.encode(), row_id)
            sent.append(row_id)
        if sent:
            async with self.sessionmaker.begin() as session:
                await session.execute(
                    update(model).where(model.id.in_(sent)).values(published_at=utcnow())
                )
        return len(sent)
