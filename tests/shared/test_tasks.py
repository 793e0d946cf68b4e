"""Stopping background tasks: one that swallows a cancellation still ends, one that never does
is left after the time given, and shutdown goes on."""

import asyncio
import time

from datacommune.shared.process import tasks


async def test_a_task_that_swallows_a_cancellation_is_cancelled_again() -> None:
    swallowed = 0

    async def loop() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                # What asyncio.wait_for does when its result lands as it is cancelled.
                swallowed += 1
                if swallowed > 2:
                    raise

    task = asyncio.create_task(loop())
    await asyncio.sleep(0)
    started = time.monotonic()
    await tasks.stop([task], within=10)
    assert task.cancelled()
    assert swallowed == 3
    assert time.monotonic() - started < 2


async def test_a_task_that_never_stops_is_given_up_on() -> None:
    let_go = False

    async def stubborn() -> None:
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if let_go:
                    raise

    task = asyncio.create_task(stubborn(), name="stubborn")
    await asyncio.sleep(0)
    started = time.monotonic()
    await tasks.stop([task], within=1)
    assert 1 <= time.monotonic() - started < 2
    assert not task.done()
    let_go = True  # only a process exit would end it; end it here to leave the loop clean
    await tasks.stop([task], within=1)
    assert task.cancelled()
