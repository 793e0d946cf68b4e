"""Stopping background tasks at shutdown, even those that miss a cancellation.

A task can swallow one cancellation: Python 3.11's ``asyncio.wait_for``, which nats-py's
``fetch`` and ``request`` use, drops it when the awaited result lands at the same moment, and a
loop then carries on. Awaiting such a task after one ``cancel()`` hangs the service's shutdown
for ever (the soak run saw ingest never exit on SIGTERM). So cancel again until it ends, and
give up, saying so, after ``within`` seconds: the process is exiting anyway.
"""

import asyncio
from collections.abc import Iterable

import structlog

log = structlog.get_logger()

AGAIN_SECONDS = 0.5


async def stop(tasks: Iterable[asyncio.Task[object]], *, within: float = 5.0) -> None:
    """Cancel ``tasks`` and wait for them, cancelling again every half second."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    every = list(tasks)
    pending = {task for task in every if not task.done()}
    while pending and loop.time() < deadline:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=AGAIN_SECONDS)
    for task in pending:
        log.warning("task_not_stopped", task=task.get_name(), within=within)
    for task in every:
        if task.done() and not task.cancelled() and (error := task.exception()) is not None:
            log.error("task_failed", task=task.get_name(), exc_info=error)
