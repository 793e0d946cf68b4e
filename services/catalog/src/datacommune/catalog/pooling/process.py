"""The pooler in a process of its own (``python -m datacommune.catalog.pooler``), started and
watched by the catalog service.

Why: an update is a few database round trips and thread hops per file, then tens of megabytes
copied and hashed. Run as one task among the service's others, each of those steps waited for
every publication, row load and request the service was handling at the time: a burst of
publications made updates four times slower than on a quiet machine (docs/consolidation.md,
Measured). In its own process, with its own event loop and database connections, it shares
only the processor.

The catalog service starts it (``PoolerProcess.run``), hands it its settings on the first line
of its standard input, wakes it with one byte (``w``) on that input after each change that
recorded pool work, and hears from it one byte (``v``) on its standard output after each
version, to wake the row loader and the webhook sender. Its logs go where the service's go
(standard error). When the service stops, or dies however it dies, the pooler's input closes
and it stops; if the pooler dies, the service starts another. Either way an update cut short
committed nothing and is done again (worker.py).
"""

import asyncio
import sys
from collections.abc import Callable

import structlog

from datacommune.catalog.settings import Settings

log = structlog.get_logger()

# One byte each way (the other side: datacommune/catalog/pooler.py).
WAKE = b"w"
MADE = b"v"
# Before starting another after one died: a pooler failing at start does not spin.
RESTART_SECONDS = 1.0
STOP_SECONDS = 10.0


class PoolerProcess:
    """The catalog service's side: ``wake`` it as one wakes a ``Pooler``."""

    def __init__(self, settings: Settings, *, on_version: Callable[[], None]) -> None:
        self._settings = settings
        self._on_version = on_version
        self._child: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int | None:
        """The running pooler's process id, if one runs."""
        child = self._child
        return None if child is None or child.returncode is not None else child.pid

    def wake(self) -> None:
        child = self._child
        if child is not None and child.stdin is not None and not child.stdin.is_closing():
            child.stdin.write(WAKE)

    async def run(self) -> None:
        """Keep a pooler running until cancelled, then stop it."""
        try:
            while True:
                await self._run_one()
                log.warning("pooler_process_ended", returncode=self._returncode())
                await asyncio.sleep(RESTART_SECONDS)
        finally:
            await asyncio.shield(self._stop())

    def _returncode(self) -> int | None:
        return None if self._child is None else self._child.returncode

    async def _run_one(self) -> None:
        self._child = child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "datacommune.catalog.pooler",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert child.stdin is not None
        assert child.stdout is not None
        child.stdin.write(self._settings.model_dump_json().encode() + b"\n")
        while chunk := await child.stdout.read(64):
            if MADE in chunk:
                self._on_version()
        await child.wait()

    async def _stop(self) -> None:
        child = self._child
        if child is None or child.returncode is not None:
            return
        if child.stdin is not None:
            child.stdin.close()  # its input ends: it stops its update and leaves
        try:
            await asyncio.wait_for(child.wait(), STOP_SECONDS)
        except TimeoutError:
            child.kill()
            await child.wait()
        if child.stdout is not None:
            await child.stdout.read()  # to its end: the pipe, and the process's transport, close
