"""The event bus over NATS JetStream: publish with de-duplication, durable pull consumers.

The database is the record and NATS the doorbell: events reach ``publish`` through each
service's outbox, carry their id as ``Nats-Msg-Id`` so JetStream drops a repeat inside its
duplicate window, and every consumer is idempotent for what slips past that window.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import nats
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    ExternalStream,
    StorageType,
    StreamConfig,
    StreamSource,
)
from nats.js.errors import BadRequestError, ServiceUnavailableError

from datacommune.shared import metrics, tracing
from datacommune.shared.events import AnyEvent, Event, parse
from datacommune.shared.process import tasks
from datacommune.shared.settings import NatsSettings

log = structlog.get_logger()

Handler = Callable[[AnyEvent], Awaitable[None]]
BatchHandler = Callable[["Batch"], Awaitable[None]]


class ClusterForming(Exception):
    """A stream could not be placed yet: its replicas need servers the cluster has not yet
    counted in (JetStream's « no suitable peers for placement », while servers join)."""


# JetStream's code for « no suitable peers for placement ».
NO_SUITABLE_PEERS = 10005


class NotYet(Exception):
    """The event follows another one not applied yet (streams do not order each other):
    it comes back shortly, without counting as a failure in the logs."""


class Batch:
    """Events fetched together and handled in one call, so in one transaction: what a file
    costs that is not its own (beginning and committing, the outbox relay's pass, waking the
    background work) is paid once per batch.

    Iterating gives each event inside its own consumer span, which continues the trace its
    message carries (so what the handler enqueues for it carries that trace on).
    """

    def __init__(self, items: list[tuple[Msg, AnyEvent]], consumer: str, *, spans: bool = True):
        self._items = items
        self._consumer = consumer
        self._spans = spans
        # How many events the handler was given: those after it are not acked with the batch.
        self.taken = 0

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[AnyEvent]:
        for msg, event in self._items:
            self.taken += 1
            if not self._spans:
                yield event
                continue
            with _consuming(msg, event, self._consumer):
                yield event


@dataclass(frozen=True)
class Stream:
    """A JetStream stream and the subjects (event types) it keeps."""

    name: str
    subjects: list[str]
    description: str


# Streams keep every event for 30 days under limits retention, so a new or rebuilt consumer can
# replay history; the duplicate window is wider than the default 2 minutes so that an outbox
# relay restarting after a crash still has its repeats dropped by the server.
STREAMS = [
    Stream("FILES", ["file.>"], "Uploads received and validated"),
    Stream(
        "CATALOG",
        ["organization.>", "token.>", "delegation.>", "resource.>", "upload.>"],
        "Catalogue decisions: organizations, their tokens and delegations, publications",
    ),
    Stream(
        "LOCAL_EVENTS",
        ["local_event.>", "release.>"],
        "Council meetings, hackathons, fairs, and the releases timed to them",
    ),
    Stream("SCHEMAS", ["schemas.>"], "The schemas files are checked against"),
]
MAX_AGE_SECONDS = 30 * 24 * 3600
DUPLICATE_WINDOW_SECONDS = 15 * 60
# A message is never set aside: one whose handler keeps failing is tried again every minute,
# logged as `event_stuck` (an error, for the operator) once it has failed this many times, until
# the cause is fixed. Setting it aside would lose what it carries, and a message that only waits
# for another one (``NotYet``) must wait as long as that one takes: after a NATS restart, a
# stream's backlog may take minutes to reach a consumer. Handlers turn what they can into a
# result (a failed check is a report) rather than fail.
MAX_DELIVER = 10


@dataclass
class Bus:
    """One NATS connection shared by a service's publishers and consumers."""

    settings: NatsSettings
    nc: Client | None = None
    js: JetStreamContext | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _closing: bool = False
    # The connection's name, which the metrics carry as their ``service``.
    name: str = ""

    async def connect(self, *, name: str) -> None:
        """Connect (retrying until ``connect_timeout``) and make sure the streams exist."""
        self.name = name
        deadline = asyncio.get_running_loop().time() + self.settings.connect_timeout
        while True:
            try:
                self.nc = await nats.connect(
                    [url.strip() for url in self.settings.url.split(",") if url.strip()],
                    name=name,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    connect_timeout=2,
                )
                break
            except Exception:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.5)
        self.js = self.nc.jetstream()
        while True:
            try:
                await self.ensure_streams()
                return
            except (nats.errors.TimeoutError, ServiceUnavailableError, ClusterForming):
                # A cluster starting up answers once it has elected its leader, and places a
                # replicated stream once enough of its servers have joined.
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.5)

    @property
    def connected(self) -> bool:
        """Whether the connection to NATS is up right now."""
        return self.nc is not None and self.nc.is_connected

    def _jetstream(self) -> JetStreamContext:
        if self.js is None:
            raise RuntimeError("Bus.connect() was not called")
        return self.js

    async def ensure_streams(self) -> None:
        """Create each stream, or bring an existing one to the current configuration."""
        js = self._jetstream()
        for config in self.stream_configs():
            try:
                await js.add_stream(config)
            except BadRequestError as error:
                if error.err_code == NO_SUITABLE_PEERS:
                    raise ClusterForming(config.name) from error
                # The stream exists with another configuration: bring it to this one.
                await js.update_stream(config)

    def stream_configs(self) -> list[StreamConfig]:
        """The platform's streams; on a node, its two federation streams instead; on a hub with
        nodes, the platform's plus the federation's (docs/federation.md)."""
        common: dict[str, Any] = {
            "storage": StorageType.FILE,
            "max_age": MAX_AGE_SECONDS,
            "duplicate_window": DUPLICATE_WINDOW_SECONDS,
            "num_replicas": self.settings.replicas,
        }
        node = self.settings.node
        if node:
            hub_api = f"$JS.{self.settings.hub_domain}.API"
            return [
                StreamConfig(
                    # Named after the node: the hub finds where to resume a source by its stream
                    # name, so two nodes' streams must not share one.
                    name=node_stream(node),
                    subjects=[f"node.{node}.>"],
                    description="What this node sends the hub: files (in chunks), then events",
                    **common,
                ),
                StreamConfig(
                    name="NODE_IN",
                    description="What the hub sends this node, copied across the leaf link",
                    sources=[
                        StreamSource(
                            name="NODES_IN",
                            filter_subject=f"nodein.{node}.>",
                            external=ExternalStream(api=hub_api),
                        )
                    ],
                    **common,
                ),
            ]
        configs = [
            StreamConfig(name=s.name, subjects=s.subjects, description=s.description, **common)
            for s in STREAMS
        ]
        if self.settings.hub_nodes:
            configs += [
                StreamConfig(
                    name="FEDERATION",
                    description="What the nodes sent, copied from each node's NODE_OUT",
                    sources=[federation_source(n) for n in self.settings.hub_nodes],
                    **common,
                ),
                StreamConfig(
                    name="NODES_IN",
                    subjects=["nodein.>"],
                    description="What the hub sends each node (nodein.<node>.<type>)",
                    **common,
                ),
            ]
        return configs

    async def publish(self, event: Event) -> bool:
        """Publish one event once JetStream stored it; False if it had it already."""
        return await self.publish_raw(event.type, event.model_dump_json().encode(), str(event.id))

    async def publish_raw(
        self, subject: str, payload: bytes, msg_id: str, headers: dict[str, str] | None = None
    ) -> bool:
        """Publish an already serialized event, as the outbox relay does (on a node, under
        ``node.<name>.``)."""
        type_ = subject
        if self.settings.node:
            subject = f"node.{self.settings.node}.{subject}"
        ack = await self._jetstream().publish(
            subject, payload, headers={**(headers or {}), "Nats-Msg-Id": msg_id}
        )
        if not ack.duplicate:
            metrics.EVENTS_PUBLISHED.labels(self.name, type_).inc()
        return not ack.duplicate

    async def subscribe(
        self,
        durable: str,
        handler: Handler,
        *types: str,
        concurrency: int = 1,
        ack_wait: float = 60,
    ) -> None:
        """Feed every event of ``types`` to ``handler`` through a durable consumer per type.

        One consumer per type (named ``{durable}_{type}``) works on every JetStream version,
        including servers older than 2.10 that take a single filter subject. A message is acked
        once the handler returns, after its transaction committed; if the handler raises, the
        message comes back later with a growing delay.
        """

        async def each(msgs: list[Msg], consumer: str) -> None:
            # _deliver never raises, so one message cannot stop the consumer.
            await asyncio.gather(*(self._deliver(m, handler, consumer, ack_wait) for m in msgs))

        await self._consume(durable, types, each, fetch=concurrency, ack_wait=ack_wait)

    async def subscribe_batches(
        self,
        durable: str,
        handler: BatchHandler,
        *types: str,
        batch: int = 32,
        ack_wait: float = 60,
    ) -> None:
        """Like ``subscribe``, but the events waiting (up to ``batch``) reach ``handler``
        together, one call for all, and are acked together once it returns.

        If the call raises, each event of the batch is handled again alone, with the retries
        of ``subscribe``: one event that cannot be applied yet, or ever, does not hold back the
        others.
        """

        async def together(msgs: list[Msg], consumer: str) -> None:
            await self._deliver_batch(msgs, handler, consumer, ack_wait)

        await self._consume(durable, types, together, fetch=batch, ack_wait=ack_wait)

    async def _consume(
        self,
        durable: str,
        types: tuple[str, ...],
        process: Callable[[list[Msg], str], Awaitable[None]],
        *,
        fetch: int,
        ack_wait: float,
    ) -> None:
        js = self._jetstream()
        node = self.settings.node
        for type_ in types:
            consumer = f"{durable}_{type_.replace('.', '_')}"
            subject = f"nodein.{node}.{type_}" if node else type_
            config = ConsumerConfig(
                durable_name=consumer,
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                ack_wait=ack_wait,
                max_ack_pending=max(64, fetch * 4),
                max_deliver=-1,
                filter_subject=subject,
            )
            stream = "NODE_IN" if node else await js.find_stream_name_by_subject(type_)
            try:
                # Creates the consumer, or brings an existing one to this configuration.
                await js.add_consumer(stream, config)
            except BadRequestError as exc:
                # Servers before 2.10 refuse to change a consumer; it keeps its old settings.
                log.warning("consumer_not_updated", consumer=consumer, error=repr(exc))
            sub = await js.pull_subscribe_bind(durable=consumer, stream=stream)
            self._tasks.append(asyncio.create_task(self._pump(sub, process, consumer, fetch)))

    async def _pump(
        self,
        sub: JetStreamContext.PullSubscription,
        process: Callable[[list[Msg], str], Awaitable[None]],
        consumer: str,
        fetch: int,
    ) -> None:
        while not self._closing:
            try:
                # What is waiting, up to ``fetch``, at once: a fetch does not wait to fill up.
                msgs = await sub.fetch(batch=fetch, timeout=2)
            except TimeoutError:
                # nats' own timeout, or asyncio's when the deadline passes between the two
                # requests of a fetch (nats-py 2.16): both mean « nothing yet ».
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Lost connection or a consumer being recreated: wait and try again.
                log.warning("fetch_failed", consumer=consumer, error=repr(exc))
                await asyncio.sleep(1)
                continue
            await process(msgs, consumer)

    async def _deliver_batch(
        self, msgs: list[Msg], handler: BatchHandler, consumer: str, ack_wait: float
    ) -> None:
        items: list[tuple[Msg, AnyEvent]] = []
        for msg in msgs:
            try:
                items.append((msg, parse(msg.data)))
            except Exception:
                log.error("undecodable_event", consumer=consumer, subject=msg.subject)
                await _settle(msg.term())
        if not items:
            return
        consumed = metrics.EVENTS_CONSUMED
        if len(items) > 1:
            batch = Batch(items, consumer)
            try:
                await _with_heartbeat([m for m, _ in items], handler(batch), interval=ack_wait / 3)
            except Exception as exc:
                # Rolled back as a whole: each event is handled again alone, and only the one
                # at fault waits (or is logged as failing).
                log.info("batch_failed", consumer=consumer, size=len(items), error=repr(exc))
            else:
                handled, items = items[: batch.taken], items[batch.taken :]
                for msg, _ in handled:
                    if msg.metadata.num_delivered > 1:
                        metrics.EVENTS_REDELIVERED.labels(self.name, consumer).inc()
                    consumed.labels(self.name, consumer, "ok").inc()
                await asyncio.gather(*(_settle(msg.ack_sync()) for msg, _ in handled))
                if items:
                    # A handler that returned before reading its whole batch: the events it
                    # was not given are not acked as if applied, but handled alone.
                    log.error("batch_not_read_through", consumer=consumer, left=len(items))
        for msg, _ in items:

            def alone(event: AnyEvent, msg: Msg = msg) -> Awaitable[None]:
                # _deliver already made the event's span.
                return handler(Batch([(msg, event)], consumer, spans=False))

            await self._deliver(msg, alone, consumer, ack_wait)

    async def _deliver(self, msg: Msg, handler: Handler, consumer: str, ack_wait: float) -> None:
        try:
            event = parse(msg.data)
        except Exception:
            # A message no contract describes can never succeed: keep it out of the way.
            log.error("undecodable_event", consumer=consumer, subject=msg.subject)
            await _settle(msg.term())
            return
        if msg.metadata.num_delivered > 1:
            metrics.EVENTS_REDELIVERED.labels(self.name, consumer).inc()
        consumed = metrics.EVENTS_CONSUMED
        with _consuming(msg, event, consumer):
            try:
                await _with_heartbeat([msg], handler(event), interval=ack_wait / 3)
            except NotYet:
                consumed.labels(self.name, consumer, "not_yet").inc()
                attempt = msg.metadata.num_delivered
                log.info("event_not_yet", consumer=consumer, attempt=attempt)
                await _settle(msg.nak(delay=min(5.0, 0.1 * attempt)))
                return
            except Exception:
                consumed.labels(self.name, consumer, "failed").inc()
                attempt = msg.metadata.num_delivered
                failed = log.error if attempt >= MAX_DELIVER else log.warning
                failed(
                    "event_stuck" if attempt >= MAX_DELIVER else "handler_failed",
                    consumer=consumer,
                    attempt=attempt,
                    exc_info=True,
                )
                await _settle(msg.nak(delay=min(60.0, 0.5 * 2 ** min(attempt, 7))))
                return
            consumed.labels(self.name, consumer, "ok").inc()
            await _settle(msg.ack_sync())

    @property
    def consuming(self) -> bool:
        """Whether every consumer loop is still running."""
        return all(not task.done() for task in self._tasks)

    async def close(self) -> None:
        """Stop the consumers and drain the connection."""
        # A fetch may swallow a cancellation: the closing flag ends its loop too.
        self._closing = True
        await tasks.stop(self._tasks)
        self._tasks.clear()
        if self.nc is not None and not self.nc.is_closed:
            # Every publish was already acknowledged and unacked messages come back by design,
            # so a plain close is enough; drain() waits on the cancelled pull requests.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.nc.close(), timeout=5)


@contextlib.contextmanager
def _consuming(msg: Msg, event: AnyEvent, consumer: str) -> Iterator[None]:
    """The event's log fields and span, which continues the trace the message carries (its
    publisher's outbox row's)."""
    with (
        structlog.contextvars.bound_contextvars(event_id=str(event.id), type=event.type),
        tracing.span(
            f"{event.type} process",
            parent=msg.headers,
            kind=tracing.SpanKind.CONSUMER,
            attributes={
                "messaging.system": "nats",
                "messaging.destination.name": msg.subject,
                "messaging.consumer.group.name": consumer,
                "messaging.message.id": str(event.id),
            },
        ),
    ):
        yield


async def _with_heartbeat(msgs: list[Msg], work: Awaitable[None], *, interval: float) -> None:
    # Long validations must not be redelivered to another worker mid-way: tell JetStream the
    # messages are still being worked on, well inside their ack wait.
    task = asyncio.ensure_future(work)
    while True:
        done, _ = await asyncio.wait({task}, timeout=interval)
        if done:
            return task.result()
        for msg in msgs:
            with contextlib.suppress(Exception):
                await msg.in_progress()


async def _settle(call: Awaitable[object]) -> None:
    # An ack, nak or term lost with the connection only means the message comes back later,
    # which every consumer handles; it must not stop the consumer loop.
    try:
        await call
    except Exception as exc:
        log.warning("settle_failed", error=repr(exc))


def node_stream(node: str) -> str:
    """The stream a node's outgoing files and events wait in."""
    return f"NODE_OUT_{node}"


def federation_source(node: str) -> StreamSource:
    """The hub's copy of one node's outgoing stream, across the leaf link."""
    return StreamSource(name=node_stream(node), external=ExternalStream(api=f"$JS.node-{node}.API"))
