"""The bus against a real JetStream server: de-duplication, redelivery after a failure."""

import asyncio
import uuid

from datacommune.shared import events
from datacommune.shared.bus import MAX_DELIVER, Batch, Bus, NotYet


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


async def test_events_waiting_together_are_handled_in_one_call(bus: Bus) -> None:
    """A backlog reaches a batch handler several at a time, each event once."""
    sent = [started() for _ in range(40)]
    wanted = {e.id for e in sent}
    sizes: list[int] = []
    seen: list[uuid.UUID] = []
    done = asyncio.Event()

    async def handler(batch: Batch) -> None:
        mine = [e.id for e in batch if e.id in wanted]
        sizes.append(len(mine))
        seen.extend(mine)
        if wanted <= set(seen):
            done.set()

    for event in sent:  # waiting before the consumer starts, as after a cut
        await bus.publish(event)
    await bus.subscribe_batches(
        f"t{uuid.uuid4().hex[:8]}", handler, "file.validation_started.v1", batch=16
    )
    await asyncio.wait_for(done.wait(), timeout=15)
    await asyncio.sleep(0.5)  # acked together: nothing comes back
    assert sorted(seen) == sorted(wanted)
    assert max(sizes) == 16, sizes


async def test_an_event_failing_in_a_batch_does_not_hold_back_the_others(bus: Bus) -> None:
    """The batch's call fails as a whole; each event is then handled alone, and only the one
    at fault comes back."""
    sent = [started() for _ in range(6)]
    wanted = {e.id for e in sent}
    bad = sent[2].id
    applied: list[uuid.UUID] = []
    calls: list[int] = []
    done = asyncio.Event()

    async def handler(batch: Batch) -> None:
        mine = [e.id for e in batch if e.id in wanted]
        if not mine:
            return
        calls.append(len(mine))
        if bad in mine and calls.count(1) < 3:
            raise RuntimeError("this one cannot be applied yet")
        applied.extend(mine)  # as if committed with the call
        if wanted <= set(applied):
            done.set()

    for event in sent:
        await bus.publish(event)
    await bus.subscribe_batches(
        f"t{uuid.uuid4().hex[:8]}", handler, "file.validation_started.v1", batch=16
    )
    await asyncio.wait_for(done.wait(), timeout=20)
    assert sorted(applied) == sorted(wanted), "each event applied once"
    assert calls[0] > 1, calls  # together first,
    assert calls[1] == 1, calls  # then alone


async def test_events_a_batch_handler_did_not_read_are_not_acked_unread(bus: Bus) -> None:
    """A handler returning before the end of its batch: the events after are handled alone,
    not acked as if applied."""
    sent = [started() for _ in range(5)]
    wanted = {e.id for e in sent}
    applied: list[uuid.UUID] = []
    done = asyncio.Event()

    async def handler(batch: Batch) -> None:
        for event in batch:
            if event.id in wanted:
                applied.append(event.id)
                if wanted <= set(applied):
                    done.set()
                return  # one event a call, whatever the batch holds

    for event in sent:
        await bus.publish(event)
    await bus.subscribe_batches(
        f"t{uuid.uuid4().hex[:8]}", handler, "file.validation_started.v1", batch=16
    )
    await asyncio.wait_for(done.wait(), timeout=15)
    assert sorted(applied) == sorted(wanted)
