"""The platform's bus on a three-server NATS cluster, streams with three replicas, as production
runs it: a server killed under traffic, then started again, loses no event and stops nothing
for longer than the cluster takes to elect new leaders."""

import asyncio
import time
import uuid

import nats
import pytest
from nats.js.api import StreamConfig
from nats.js.errors import BadRequestError

from datacommune.shared import events
from datacommune.shared.bus import NO_SUITABLE_PEERS, Bus
from datacommune.shared.settings import NatsSettings
from tests import servers
from tests.figures import record

# Three nats-servers as processes, killed and started again: with the e2e runs, not the fast loop.
pytestmark = pytest.mark.e2e

EVENTS = 200


async def publish_until_stored(bus: Bus, event: events.Event, *, within: float = 30) -> float:
    """Publish, retrying while the cluster elects a new leader; how long it took."""
    started = time.monotonic()
    while True:
        try:
            await bus.publish(event)
            return time.monotonic() - started
        except Exception:
            assert time.monotonic() - started < within, "the cluster never took the event"
            await asyncio.sleep(0.1)


async def until_placement_refused(url: str) -> None:
    """Wait until the two servers up have elected a leader, which then refuses to place three
    replicas (before that, JetStream does not answer at all)."""
    nc = await nats.connect(url.split(","))
    try:
        js = nc.jetstream()
        deadline = time.monotonic() + 30
        while True:
            assert time.monotonic() < deadline, "the two servers never answered"
            try:
                await js.add_stream(StreamConfig(name="PROBE", subjects=["probe"], num_replicas=3))
            except BadRequestError as error:
                if error.err_code == NO_SUITABLE_PEERS:
                    return
            except nats.errors.TimeoutError:
                pass
            await asyncio.sleep(0.2)
    finally:
        await nc.close()


async def test_a_server_killed_under_traffic_loses_no_event() -> None:
    with servers.nats_cluster(3) as cluster:
        bus = Bus(NatsSettings(url=cluster.url, replicas=3, connect_timeout=30))
        await bus.connect(name="test")
        try:
            info = await bus._jetstream().stream_info("FILES")
            assert info.config.num_replicas == 3
            assert info.cluster is not None
            assert len(info.cluster.replicas or []) == 2

            seen: list[uuid.UUID] = []

            async def handler(event: events.AnyEvent) -> None:
                seen.append(event.id)

            await bus.subscribe("cluster_test", handler, "file.validation_started.v1")
            sent = [
                events.FileValidationStarted(source="test", upload_id=uuid.uuid4())
                for _ in range(EVENTS)
            ]
            stalls = []
            for n, event in enumerate(sent):
                if n == EVENTS // 3:
                    cluster.kill(0)  # the server the bus first connected to
                if n == 2 * EVENTS // 3:
                    cluster.start(0)
                stalls.append(await publish_until_stored(bus, event))
            deadline = time.monotonic() + 60
            while set(seen) != {e.id for e in sent}:
                assert time.monotonic() < deadline, f"{len(set(seen))} of {EVENTS} consumed"
                await asyncio.sleep(0.2)
            record(
                "nats-cluster",
                f"{EVENTS} events through a 3-server cluster, one server killed and started "
                f"again: all consumed ({len(seen)} deliveries); longest publish "
                f"{max(stalls):.2f} s",
            )
        finally:
            await bus.close()


async def test_streams_wait_for_a_cluster_still_forming() -> None:
    """Three replicas need three servers: while the third is still starting, the first two elect
    a leader and answer « no suitable peers for placement »; a service connecting then waits
    instead of failing."""
    with servers.nats_cluster(3, started=2) as cluster:
        bus = Bus(NatsSettings(url=cluster.url, replicas=3, connect_timeout=60))
        connecting = asyncio.create_task(bus.connect(name="test"))
        await until_placement_refused(cluster.url)
        await asyncio.sleep(1)
        assert not connecting.done(), "the service gave up while the cluster was forming"
        cluster.start(2)
        await asyncio.wait_for(connecting, 60)
        try:
            info = await bus._jetstream().stream_info("FILES")
            assert info.config.num_replicas == 3
        finally:
            await bus.close()
