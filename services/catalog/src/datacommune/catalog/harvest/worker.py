"""The background task that harvests due sources, and runs one now when asked.

Each catalog replica runs one; a source is claimed with a conditional update of its lease
(``harvests.claim``), so with several replicas each run happens once.
"""

import asyncio
import contextlib
import uuid

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from datacommune.catalog.harvest import http, sources
from datacommune.catalog.harvest import runs as harvests
from datacommune.shared.outbox import utcnow
from datacommune.shared.process import background
from datacommune.shared.process import tasks as background_tasks
from datacommune.shared.process.background import Waker

log = structlog.get_logger()

POLL_SECONDS = 30.0


class Harvester:
    """Runs due harvests; ``wake`` it when a source is added, ``start`` one at once."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        allow_private: bool,
        timeout: float,
        max_page_bytes: int,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._allow_private = allow_private
        self._timeout = timeout
        self._max_page_bytes = max_page_bytes
        self._waker = Waker()
        self._tasks: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        self._waker.wake()

    async def run(self) -> None:
        async def one_pass() -> None:
            for source_id in await sources.due(self._sessionmaker, utcnow()):
                run_id = await harvests.claim(self._sessionmaker, source_id, due_only=True)
                if run_id is not None:
                    await self._carry_out(run_id)

        try:
            await background.forever(
                one_pass, self._waker, poll=POLL_SECONDS, failed="harvest_scheduling_failed"
            )
        finally:
            await background_tasks.stop(list(self._tasks))

    async def start(self, source_id: uuid.UUID) -> uuid.UUID | None:
        """Claim the source and harvest it in the background; the run's id, or None if a run
        holds it already."""
        run_id = await harvests.claim(self._sessionmaker, source_id, due_only=False)
        if run_id is None:
            return None
        task = asyncio.create_task(self._carry_out(run_id), name=f"harvest-{run_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return run_id

    async def _carry_out(self, run_id: uuid.UUID) -> None:
        try:
            fetcher = http.Fetcher(
                self._timeout, allow_private=self._allow_private, max_bytes=self._max_page_bytes
            )
            await harvests.harvest(self._sessionmaker, run_id, fetcher)
        except asyncio.CancelledError:
            # Shutting down mid-run: say so in the log and free the source for another replica.
            with contextlib.suppress(Exception):
                await asyncio.shield(harvests.interrupt(self._sessionmaker, run_id))
            raise
        except Exception as exc:
            log.exception("harvest_failed", run=str(run_id))
            with contextlib.suppress(Exception):
                await harvests.interrupt(self._sessionmaker, run_id, harvests.internal_error(exc))
