"""The bus against a real JetStream server: de-duplication, redelivery after a failure."""

import asyncio
import uuid

from datacommune.shared import events
from datacommune.shared.bus import MAX_DELIVER, Bus, NotYet


def started() -> events.FileValidationStarted:
    return events.FileValidationStarted(source="test", upload_id=uuid.uuid4())


async def test_the_same_event_id_is_stored_once(bus: Bus) -> None:
    event = started()
    assert await bus.publish(event) is True
    assert await bus.publish(event) is False, "JetStream must drop the repeat by its Nats-Msg-Id"


async def delivered(bus: Bus, failures: list[Exception], *, within: float) -> int:
    """How many times one event reached a handler that raised each of ``failures`` in turn
    before accepting it."""
    event = started()
    seen: list[uuid.UUID] = []
    done = asyncio.Event()

    async def handler(received: events.AnyEvent) -> None:
        if received.id != event.id:
            return
        seen.append(received.id)
        if len(seen) <= len(failures):
            raise failures[len(seen) - 1]
        done.set()

    await bus.subscribe(f"t{uuid.uuid4().hex[:8]}", handler, "file.validation_started.v1")
    await bus.publish(event)
    await asyncio.wait_for(done.wait(), timeout=within)
    return len(seen)


async def test_a_failed_handler_gets_the_event_again(bus: Bus) -> None:
    assert await delivered(bus, [RuntimeError("first attempt fails")], within=15) == 2


async def test_an_event_waiting_for_another_is_never_set_aside(bus: Bus) -> None:
    """After a NATS restart the event it waits for may come minutes later: however many times
    it is told « not yet », it comes back (it was once dropped after MAX_DELIVER attempts)."""
    not_yet = NotYet("the event this one follows has not been applied")
    assert await delivered(bus, [not_yet] * MAX_DELIVER, within=30) == MAX_DELIVER + 1


async def test_streams_are_created_idempotently(bus: Bus) -> None:
    await bus.ensure_streams()
    await bus.ensure_streams()
