"""The bus against a real JetStream server: de-duplication, redelivery after a failure."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from datacommune.shared import events
from datacommune.shared.bus import MAX_DELIVER, Bus, NotYet
from datacommune.shared.settings import NatsSettings
from tests.servers import NatsServer


@pytest.fixture
async def bus(nats_server: NatsServer) -> AsyncIterator[Bus]:
    bus = Bus(NatsSettings(url=nats_server.url))
    await bus.connect(name="test")
    yield bus
    await bus.close()


def started() -> events.FileValidationStarted:
    return events.FileValidationStarted(source="test", upload_id=uuid.uuid4())


async def test_the_same_event_id_is_stored_once(bus: Bus) -> None:
    event = started()
    assert await bus.publish(event) is True
    assert await bus.publish(event) is False, "JetStream must drop the repeat by its Nats-Msg-Id"


async def test_a_failed_handler_gets_the_event_again(bus: Bus) -> None:
    event = started()
    seen: list[uuid.UUID] = []
    done = asyncio.Event()

    async def handler(received: events.AnyEvent) -> None:
        if received.id != event.id:
            return
        seen.append(received.id)
        if len(seen) == 1:
            raise RuntimeError("first attempt fails")
        done.set()

    await bus.subscribe(f"t{uuid.uuid4().hex[:8]}", handler, "file.validation_started.v1")
    await bus.publish(event)
    await asyncio.wait_for(done.wait(), timeout=15)
    assert seen == [event.id, event.id]


async def test_an_event_waiting_for_another_is_never_set_aside(bus: Bus) -> None:
    """After a NATS restart the event it waits for may come minutes later: however many times
    it is told « not yet », it comes back (it was once dropped after MAX_DELIVER attempts)."""
    event = started()
    seen: list[uuid.UUID] = []
    done = asyncio.Event()

    async def handler(received: events.AnyEvent) -> None:
        if received.id != event.id:
            return
        seen.append(received.id)
        if len(seen) <= MAX_DELIVER:
            raise NotYet("the event this one follows has not been applied")
        done.set()

    await bus.subscribe(f"t{uuid.uuid4().hex[:8]}", handler, "file.validation_started.v1")
    await bus.publish(event)
    await asyncio.wait_for(done.wait(), timeout=30)
    assert len(seen) == MAX_DELIVER + 1


async def test_streams_are_created_idempotently(bus: Bus) -> None:
    await bus.ensure_streams()
    await bus.ensure_streams()
