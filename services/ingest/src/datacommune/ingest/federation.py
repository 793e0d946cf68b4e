"""Federation: an ingest node sends its files and events to the hub; the hub's ingest takes
them in and sends back what each node needs (docs/federation.md, docs/federation-transport.md).

On a node, everything goes into the node's own stream ``NODE_OUT`` (``node.<name>.>``), which
its NATS leaf server keeps while the link to the hub is down: a file's bytes first, as 256 KiB
chunks, then its ``file.received.v1``. The hub's ``FEDERATION`` stream sources every node's
``NODE_OUT``; the server resumes after a cut from the last message it copied, so each message
arrives once. The hub's forwarder turns each node's ``file.received.v1`` into an upload of the
hub (its bytes, already there in the same stream, checked and stored), and copies to
``NODES_IN`` (``nodein.<name>.<type>``) the events a node needs — its uploads' progress, and
organizations, tokens, delegations and releases — which the node's ``NODE_IN`` sources.

A source whose link was down for long retries slowly (up to two minutes); so each side probes
the other and, when it answers again, restarts its source at once ("kick").
"""

import asyncio
import contextlib
import copy
import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import structlog
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy, StreamConfig, StreamSource
from nats.js.errors import NotFoundError
from sqlalchemy import func, select

from datacommune.ingest import consumers, uploads
from datacommune.ingest.tables import Upload
from datacommune.shared import events
from datacommune.shared.bus import Bus, federation_source, node_stream
from datacommune.shared.outbox import utcnow
from datacommune.shared.process.runtime import Runtime
from datacommune.shared.process.scratch import held_dir
from datacommune.shared.storage import ObjectStore

log = structlog.get_logger()
# The hub's scratch folders for a node's file being put together (swept at start-up).
SCRATCH_PREFIX = "datacommune-node-"

CHUNK = 256 * 1024
CHUNK_HEADER = "Datacommune-Chunk"
PROBE_SECONDS = 1.0
# What a node is sent: everything its ingest follows (its uploads' progress, what it needs to
# check tokens and follow releases), filtered per node in ``_to_node``.
TO_NODES = consumers.FOLLOWED
FOR_ITS_UPLOADS = {
    "file.validation_started.v1",
    "file.validated.v1",
    "resource.published.v1",
    "upload.rejected.v1",
}


async def _pieces(stream: AsyncIterator[bytes], size: int) -> AsyncIterator[bytes]:
    """The bytes of ``stream`` in pieces of exactly ``size`` (the last one shorter): the same
    file always makes the same chunks, so a chunk sent twice has the same id."""
    buffer = bytearray()
    async for data in stream:
        buffer += data
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)


def shipper(store: ObjectStore, bus: Bus) -> Callable[[str, str], Awaitable[None]]:
    """The node's hook before each outbox row is published: a file's chunks before its event."""

    async def before_publish(type_: str, payload: str) -> None:
        if type_ != "file.received.v1":
            return
        event = events.FileReceived.model_validate_json(payload)
        count = max(1, -(-event.file.size // CHUNK))
        index = 0
        async for piece in _pieces(store.stream(event.file.object_key), CHUNK):
            await bus.publish_raw(
                f"chunk.{event.upload_id}",
                piece,
                f"{event.upload_id}.{index}",
                headers={CHUNK_HEADER: f"{index}/{count}"},
            )
            index += 1

    return before_publish


class Kicker:
    """Restart a stream's source when the other side answers again after a silence."""

    def __init__(self, bus: Bus, *, stream: str, domain: str) -> None:
        self.bus = bus
        self.stream = stream
        self.domain = domain
        self.up: bool | None = None

    async def probe(self) -> bool:
        assert self.bus.nc is not None
        try:
            await self.bus.nc.request(f"$JS.{self.domain}.API.INFO", b"", timeout=1)
        except Exception:
            return False
        return True

    async def check(self, config: StreamConfig, without: StreamConfig) -> None:
        up = await self.probe()
        if up and self.up is False:
            js = self.bus._jetstream()
            with contextlib.suppress(Exception):
                await js.update_stream(without)
            await js.update_stream(config)
            log.info("federation_source_restarted", stream=self.stream, domain=self.domain)
        self.up = up


def _config(bus: Bus, name: str) -> StreamConfig:
    return next(c for c in bus.stream_configs() if c.name == name)


async def kick_loop(bus: Bus) -> None:
    """On a node: restart NODE_IN's source when the hub answers again; on the hub: each
    node's source in FEDERATION."""
    settings = bus.settings
    if settings.node:
        kickers = [(Kicker(bus, stream="NODE_IN", domain=settings.hub_domain), "")]
    else:
        kickers = [
            (Kicker(bus, stream="FEDERATION", domain=f"node-{n}"), n) for n in settings.hub_nodes
        ]
    while True:
        for kicker, node in kickers:
            config = _config(bus, kicker.stream)
            without = copy.deepcopy(config)
            # The stream without this source, then with it: the server starts it afresh.
            without.sources = [
                s for s in config.sources or [] if node and s != federation_source(node)
            ]
            try:
                if node and await kicker.probe() and kicker.up is False:
                    # Where to resume, said explicitly: a source added back by an update was
                    # seen to start after the node's last message rather than after the last
                    # one the hub holds, skipping what was sent during the cut.
                    start = await resume_point(bus._jetstream(), node)
                    config = copy.deepcopy(config)
                    config.sources = [
                        StreamSource(name=s.name, external=s.external, opt_start_seq=start)
                        if s == federation_source(node)
                        else s
                        for s in config.sources or []
                    ]
                await kicker.check(config, without)
            except Exception:
                log.exception("federation_probe_failed", domain=kicker.domain)
        await asyncio.sleep(PROBE_SECONDS)


async def resume_point(js: JetStreamContext, node: str) -> int:
    """The sequence of the node's stream after the last message FEDERATION holds from it."""
    try:
        last = await js.get_last_msg("FEDERATION", f"node.{node}.>")
    except NotFoundError:
        return 1
    origin = (last.headers or {}).get("Nats-Stream-Source", "")
    parts = origin.split()
    return int(parts[1]) + 1 if len(parts) > 1 and parts[1].isdigit() else 1


class Forwarder:
    """On the hub: take in what nodes sent, and send each node what concerns it."""

    def __init__(self, runtime: Runtime, *, source: str) -> None:
        self.runtime = runtime
        self.source = source

    async def start(self) -> list[asyncio.Task[None]]:
        bus = self.runtime.bus
        for node in bus.settings.hub_nodes:
            await bus.subscribe(f"forward_{node}", self._to_node(node), *TO_NODES)
        js = bus._jetstream()
        subscription = await js.pull_subscribe(
            "node.*.file.received.v1", durable="ingest_federation", stream="FEDERATION"
        )
        return [
            asyncio.create_task(self._take_in(subscription), name="federation-in"),
            asyncio.create_task(kick_loop(bus), name="federation-kick"),
        ]

    async def _serves(self, node: str, organization: str) -> bool:
        """Whether ``node`` is that organization's (named after it, or it uploaded there)."""
        if node == organization:
            return True
        async with self.runtime.reader() as session:
            found = await session.scalar(
                select(Upload.id)
                .where(Upload.node == node, Upload.organization == organization)
                .limit(1)
            )
        return found is not None

    def _to_node(self, node: str) -> Any:
        async def forward(event: events.AnyEvent) -> None:
            if event.type in FOR_ITS_UPLOADS:
                upload_id = getattr(event, "upload_id", None)
                async with self.runtime.reader() as session:
                    upload = await session.get(Upload, upload_id)
                if upload is None or upload.node != node:
                    return
            if isinstance(event, events.ReleasePlanned) and not await self._serves(
                node, event.organization
            ):
                # A plan not announced is its organization's business only.
                return
            await self.runtime.bus.publish_raw(
                f"nodein.{node}.{event.type}",
                event.model_dump_json().encode(),
                f"{node}.{event.id}",
            )

        return forward

    async def _take_in(self, subscription: Any) -> None:
        while True:
            try:
                messages = await subscription.fetch(batch=8, timeout=2)
            except TimeoutError:
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("federation_fetch_failed", error=repr(exc))
                await asyncio.sleep(1)
                continue
            for message in messages:
                try:
                    await self._receive(message.subject.split(".")[1], message.data)
                    await message.ack()
                except Exception:
                    log.exception("federation_receive_failed", subject=message.subject)
                    await message.nak(delay=1)

    async def _receive(self, node: str, data: bytes) -> None:
        event = events.FileReceived.model_validate_json(data)
        async with self.runtime.reader() as session:
            if await session.get(Upload, event.upload_id) is not None:
                return  # already taken in
        store = self.runtime.store
        if not await store.exists(event.file.object_key):
            with held_dir(prefix=SCRATCH_PREFIX) as tmp:
                path = Path(tmp) / "file"
                await self._assemble(node, event, path)
                await store.put_file(event.file.object_key, path, media_type=event.file.media_type)
        await uploads.record_forwarded(
            self.runtime.sessionmaker, event, node=node, source=self.source
        )
        self.runtime.relay.wake()
        js = self.runtime.bus._jetstream()
        with contextlib.suppress(Exception):
            await js.purge_stream("FEDERATION", subject=f"node.{node}.chunk.{event.upload_id}")

    async def _assemble(self, node: str, event: events.FileReceived, path: Path) -> None:
        """Write the file from its chunks (already in FEDERATION: they precede their event)
        and check it is the file the node announced."""
        js = self.runtime.bus._jetstream()
        subject = f"node.{node}.chunk.{event.upload_id}"
        pieces: dict[int, bytes] = {}
        sequence = 1
        while True:
            try:
                message = await js.get_msg("FEDERATION", seq=sequence, subject=subject, next=True)
            except NotFoundError:
                break
            index = int((message.headers or {}).get(CHUNK_HEADER, "0/1").split("/")[0])
            pieces.setdefault(index, message.data or b"")
            sequence = (message.seq or sequence) + 1
        digest = hashlib.sha256()
        with path.open("wb") as out:
            for index in sorted(pieces):
                digest.update(pieces[index])
                out.write(pieces[index])
        if digest.hexdigest() != event.file.sha256:
            raise ValueError(f"upload {event.upload_id}: bytes incomplete or altered")


HEARTBEAT_SECONDS = 5.0


async def heartbeat_loop(runtime: Runtime, name: str) -> None:
    """On a node: tell the hub, every few seconds, how many uploads wait to reach it and since
    when (they wait in the node's stream while the link is down, and arrive with it)."""
    while True:
        try:
            async with runtime.reader() as session:
                waiting, oldest = (
                    await session.execute(
                        select(func.count(), func.min(Upload.created_at)).where(
                            Upload.status == "received"
                        )
                    )
                ).one()
            now = utcnow()
            body = {
                "node": name,
                "at": now.isoformat(),
                "waiting": int(waiting or 0),
                "oldest": oldest.isoformat() if oldest else None,
            }
            await runtime.bus.publish_raw(
                "heartbeat", json.dumps(body).encode(), f"heartbeat-{name}-{now.timestamp()}"
            )
        except Exception as exc:
            log.warning("heartbeat_failed", error=repr(exc))
        await asyncio.sleep(HEARTBEAT_SECONDS)


class NodeStatus:
    """On the hub: the latest heartbeat of each node, and what the hub sees of its link."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.heartbeats: dict[str, dict[str, Any]] = {}

    async def follow(self) -> None:
        """Each replica follows every node's heartbeats itself (the last one, then new ones)."""
        js = self.bus._jetstream()

        async def on_heartbeat(message: Any) -> None:
            with contextlib.suppress(ValueError):
                body = json.loads(message.data)
                self.heartbeats[str(body["node"])] = body

        await js.subscribe(
            "node.*.heartbeat",
            stream="FEDERATION",
            cb=on_heartbeat,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.LAST_PER_SUBJECT,
        )

    async def describe(self) -> list[dict[str, Any]]:
        js = self.bus._jetstream()
        info = await js.stream_info("FEDERATION")
        sources = {s.name: s for s in info.sources or []}
        now = utcnow()
        nodes = []
        for name in self.bus.settings.hub_nodes:
            source = sources.get(node_stream(name))
            beat = self.heartbeats.get(name)
            oldest = beat.get("oldest") if beat else None
            nodes.append(
                {
                    "node": name,
                    # Messages the node holds that the hub has not copied yet.
                    "lag_messages": source.lag if source else None,
                    "last_contact_seconds": round(source.active / 1e9, 1)
                    if source and source.active is not None
                    else None,
                    "files_waiting": beat["waiting"] if beat else None,
                    "oldest_waiting_seconds": round(
                        (now - datetime.fromisoformat(oldest)).total_seconds(), 1
                    )
                    if oldest
                    else None,
                    "last_heartbeat": beat["at"] if beat else None,
                    "reachable": bool(
                        source and source.active is not None and source.active < 10e9
                    ),
                }
            )
        return nodes
