"""Transactional outbox and processed-event log, shared in shape by every service.

A state change and the event it causes are written in one transaction; the relay publishes
afterwards with ``Nats-Msg-Id`` = the event id and marks the row sent only after JetStream
acknowledged it. Each service declares its own tables from these mixins, in its own database.
"""

import asyncio
import contextlib
import hashlib
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import String, Text, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute, Mapped, mapped_column

from datacommune.shared import tracing
from datacommune.shared.bus import DUPLICATE_WINDOW_SECONDS, MAX_AGE_SECONDS, Bus
from datacommune.shared.db import UTCDateTime, insert_ignoring
from datacommune.shared.events import Event
from datacommune.shared.process import tasks
from datacommune.shared.tracing import SpanKind, hop, traceparent

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
    # The trace of the transaction that wrote the row (W3C ``traceparent``), carried on by the
    # relay in the message's headers; None when nothing was traced.
    traceparent: Mapped[str | None] = mapped_column(String(64), default=None)


class ProcessedEventRecord:
    """Columns of a processed-event table: the ids a consumer has already applied."""

    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    # Indexed: entries past the retention are found by it.
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


def enqueue(session: AsyncSession, model: type[OutboxRecord], event: Event) -> None:
    """Add ``event`` to the outbox inside the caller's transaction."""
    row = model()
    row.id, row.type, row.payload = str(event.id), event.type, event.model_dump_json()
    row.traceparent = traceparent()
    session.add(row)


async def enqueue_once(session: AsyncSession, model: type[OutboxRecord], event: Event) -> bool:
    """Add ``event`` unless a row with its id is already there; True if it was added.

    For re-announcements whose id is derived from what they say (``announcement_id``): the
    same state announced twice, by one process restarting or by two replicas starting
    together, is one row; a changed state is a new id. ``INSERT … ON CONFLICT DO NOTHING``,
    not a read then a write, so two transactions racing cannot both insert.
    """
    values = {
        "id": str(event.id),
        "type": event.type,
        "payload": event.model_dump_json(),
        "created_at": utcnow(),
        "traceparent": traceparent(),
    }
    return await insert_ignoring(session, model, values, keys=["id"])


def announcement_id(namespace: uuid.UUID, key: str, event: Event) -> uuid.UUID:
    """An id for announcing ``event`` again that changes only when what it says changes.

    ``key`` names the thing announced (``organization:roques``); the event's own id and time
    are left out, so announcing the same state again gives the same id.
    """
    said = event.model_dump_json(exclude={"id", "time"})
    return uuid.uuid5(namespace, f"{key}:{hashlib.sha256(said.encode()).hexdigest()}")


async def prune(
    sessionmaker: async_sessionmaker[AsyncSession],
    column: InstrumentedAttribute[datetime] | InstrumentedAttribute[datetime | None],
    key: InstrumentedAttribute[str],
    *,
    older_than: timedelta,
    batch: int = 1000,
) -> int:
    """Delete the rows whose ``column`` is older than ``older_than``, ``batch`` at a time, each
    batch its own short transaction (a writer on SQLite is never held up for long); return
    how many went."""
    cutoff = utcnow() - older_than
    total = 0
    while True:
        async with sessionmaker.begin() as session:
            doomed = select(key).where(column < cutoff).limit(batch).scalar_subquery()
            result = await session.execute(
                delete(key.class_)
                .where(key.in_(doomed))
                .execution_options(synchronize_session=False)
            )
        gone = int(getattr(result, "rowcount", 0) or 0)
        total += gone
        if gone < batch:
            return total


async def first_time(
    session: AsyncSession, model: type[ProcessedEventRecord], event: Event
) -> bool:
    """Record ``event`` as processed in this transaction; False if it was already.

    One ``INSERT … ON CONFLICT DO NOTHING``: a delivery of the same event being applied
    meanwhile (PostgreSQL runs both) makes this one wait for its commit and then say False."""
    return await insert_ignoring(
        session,
        model,
        {"event_id": str(event.id), "type": event.type, "processed_at": utcnow()},
        keys=["event_id"],
    )


class OutboxRelay:
    """Publishes outbox rows in order; woken right after a commit, else every ``poll`` seconds.

    Every ``prune_every`` seconds it also deletes what no longer serves: published rows older
    than ``keep_sent`` (by then JetStream's duplicate window has passed, so a row could not be
    told apart from a new one anyway) and, when the service keeps a processed-event table,
    entries older than ``keep_processed`` (a stream keeps events 30 days, so no redelivery or
    replay can bring an older one back). The tables stay at a steady size however long the
    service runs.
    """

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        model: type[OutboxRecord],
        bus: Bus,
        *,
        poll: float = 1.0,
        batch: int = 100,
        processed: type[ProcessedEventRecord] | None = None,
        keep_sent: timedelta = timedelta(seconds=DUPLICATE_WINDOW_SECONDS),
        keep_processed: timedelta = timedelta(seconds=MAX_AGE_SECONDS + 24 * 3600),
        prune_every: float = 60.0,
    ) -> None:
        # Called with each row's type and payload before it is published (an ingest node
        # ships a file's bytes before the event that announces it).
        self.before_publish: Callable[[str, str], Awaitable[None]] | None = None
        self.sessionmaker = sessionmaker
        self.model = model
        self.bus = bus
        self.poll = poll
        self.batch = batch
        self.processed = processed
        self.keep_sent = keep_sent
        self.keep_processed = keep_processed
        self.prune_every = prune_every
        self._pruned_at = 0.0
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
            await tasks.stop([self._task])

    async def _run(self) -> None:
        while True:
            # Cleared before the pass, so a wake during the pass triggers another one at once.
            self._wake.clear()
            try:
                while await self.relay_once() == self.batch:
                    pass
                now = asyncio.get_running_loop().time()
                if now - self._pruned_at >= self.prune_every:
                    self._pruned_at = now
                    await self.prune_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # NATS or the database is away; rows stay unsent and are retried.
                log.warning("outbox_relay_failed", error=repr(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll)

    async def prune_once(self) -> int:
        """Delete published rows and processed-event entries past their retention."""
        model = self.model
        gone = await prune(
            self.sessionmaker, model.published_at, model.id, older_than=self.keep_sent
        )
        if self.processed is not None:
            gone += await prune(
                self.sessionmaker,
                self.processed.processed_at,
                self.processed.event_id,
                older_than=self.keep_processed,
            )
        if gone:
            log.info("outbox_pruned", rows=gone)
        return gone

    async def backlog(self) -> tuple[int, datetime | None]:
        """How many events wait to be published, and since when the oldest."""
        model = self.model
        async with self.sessionmaker() as session:
            count, oldest = (
                await session.execute(
                    select(func.count(), func.min(model.created_at)).where(
                        model.published_at.is_(None)
                    )
                )
            ).one()
        return int(count), oldest

    async def relay_once(self) -> int:
        """Publish up to ``batch`` unsent rows; return how many were sent."""
        model = self.model
        async with self.sessionmaker() as session:
            rows = (
                await session.execute(
                    select(model.id, model.type, model.payload, model.traceparent)
                    .where(model.published_at.is_(None))
                    .order_by(model.created_at)
                    .limit(self.batch)
                )
            ).all()
        sent = []
        for row_id, type_, payload, parent in rows:
            if self.before_publish is not None:
                await self.before_publish(type_, payload)
            # The publication continues the trace of the transaction that wrote the row.
            with hop(f"{type_} publish", parent, SpanKind.PRODUCER):
                headers = tracing.headers(traceparent()) or None
                await self.bus.publish_raw(type_, payload.encode(), row_id, headers)
            sent.append(row_id)
        if sent:
            async with self.sessionmaker.begin() as session:
                await session.execute(
                    update(model).where(model.id.in_(sent)).values(published_at=utcnow())
                )
        return len(sent)
