"""What every background loop of the platform does between passes: sleep until woken (work was
just committed) or until the next poll, whichever comes first."""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import NoReturn

import structlog

from datacommune.shared.outbox import utcnow

log = structlog.get_logger()


class Waker:
    """Lets a committed change wake a background loop at once instead of at its next poll."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def wake(self) -> None:
        self._event.set()

    async def sleep(self, seconds: float) -> None:
        """Until ``wake`` or ``seconds``, whichever comes first."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), seconds)
        self._event.clear()


def until(due: datetime | None, poll: float) -> float:
    """How long to sleep before something due at ``due``: never more than ``poll``, so a plan
    made elsewhere or a clock that jumped is seen within ``poll`` seconds."""
    if due is None:
        return poll
    return min(poll, max(0.0, (due - utcnow()).total_seconds()))


async def forever(
    one_pass: Callable[[], Awaitable[float | None]], waker: Waker, *, poll: float, failed: str
) -> NoReturn:
    """The loop of every background worker: run ``one_pass``, then sleep until woken or for the
    delay it returns (``poll`` when it returns None). A pass that fails is logged as ``failed``
    and tried again at the next poll: a worker outlives a database or a peer that is down."""
    while True:
        delay = poll
        try:
            wanted = await one_pass()
            if wanted is not None:
                delay = wanted
        except Exception:
            log.exception(failed)
        await waker.sleep(delay)
