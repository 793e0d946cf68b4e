"""What a service's memory holds, for an operator who sees it grow.

At each ``SIGUSR1`` a service writes Python's allocator statistics (arenas, pools and blocks in
use, ``sys._debugmallocstats``) to its standard error, that is its log. Started with
``PYTHONTRACEMALLOC=1`` (``DATACOMMUNE_<SERVICE>__PYTHONTRACEMALLOC=1`` under ``datacommune
up``), it also logs the source lines that allocated the most memory still held, and how much
each grew since the previous signal (docs/operations.md). Tracing costs about a third of the
speed, so it is off unless asked for.
"""

import signal
import sys
import tracemalloc
from types import FrameType

import structlog

log = structlog.get_logger()
TOP = 25


class _Tracer:
    def __init__(self) -> None:
        self.previous: tracemalloc.Snapshot | None = None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        sys._debugmallocstats()
        if not tracemalloc.is_tracing():
            return
        snapshot = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(False, tracemalloc.__file__)]
        )
        if self.previous is None:
            stats = snapshot.statistics("lineno")[:TOP]
            lines = [f"{s.size >> 10} KiB in {s.count}: {s.traceback}" for s in stats]
        else:
            diff = snapshot.compare_to(self.previous, "lineno")[:TOP]
            lines = [
                f"{d.size >> 10} KiB ({d.size_diff >> 10:+} KiB) in {d.count}: {d.traceback}"
                for d in diff
            ]
        self.previous = snapshot
        current, peak = tracemalloc.get_traced_memory()
        log.info("memory_held", traced_kib=current >> 10, peak_kib=peak >> 10, top=lines)


def install() -> None:
    """Log what memory holds at each SIGUSR1."""
    signal.signal(signal.SIGUSR1, _Tracer())
