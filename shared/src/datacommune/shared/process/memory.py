"""What a service's memory holds, for an operator who sees it grow.

At each ``SIGUSR1`` a service writes Python's allocator statistics (arenas, pools and blocks in
use, ``sys._debugmallocstats``) to its standard error, that is its log. Started with
``PYTHONTRACEMALLOC=1`` (``DATACOMMUNE_<SERVICE>__PYTHONTRACEMALLOC=1`` under ``datacommune
up``), it also logs the source lines that allocated the most memory still held, and how much
each grew since the previous signal (docs/operations.md). Tracing costs about a third of the
speed, so it is off unless asked for.
"""

import ctypes
import signal
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
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


TRIM_EVERY_SECONDS = 60.0


def _trim_forever(malloc_trim: Callable[[int], int], every: float) -> None:
    while True:
        time.sleep(every)
        malloc_trim(0)


def trim_in_background(every: float = TRIM_EVERY_SECONDS) -> bool:
    """Give the C allocator's free pages back to the system every ``every`` seconds (glibc).

    After a large answer (an export, a page of big cells) glibc keeps the freed memory in its
    arenas; ``malloc_trim`` returns it, so a service's resident memory comes back down rather
    than staying at its highest. False where the C library has no ``malloc_trim``.
    """
    try:
        malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return False
    malloc_trim.argtypes = [ctypes.c_size_t]
    thread = threading.Thread(
        target=_trim_forever, args=(malloc_trim, every), name="malloc-trim", daemon=True
    )
    thread.start()
    return True
