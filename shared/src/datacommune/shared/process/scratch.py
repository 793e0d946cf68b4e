"""Scratch files and folders a process holds while it works, and the sweep of those that a
killed process left behind.

A SIGKILL during an upload, a validation or a row load leaves its staging file or work folder
on disk; restarted again and again, a service would fill it. Each scratch entry is held by an
advisory lock (``flock``) for as long as its process works on it; the kernel drops the lock
when the process dies, however it dies. A sweep at start-up removes the entries under a folder
whose lock nobody holds and that are older than a minute (the minute covers the instant between
creating an entry and locking it). Replicas sharing a folder never remove each other's work.
"""

import contextlib
import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import structlog

log = structlog.get_logger()

LOCK = ".held"
# Younger entries are left alone: their process may not have locked them yet.
MIN_AGE_SECONDS = 60.0


def hold(fd: int) -> None:
    """Lock an open file for this process until it is closed (or the process dies)."""
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


@contextlib.contextmanager
def held_dir(parent: Path | None = None, *, prefix: str = "datacommune-") -> Iterator[Path]:
    """A new folder, held until the block ends, then removed with what it holds."""
    folder = Path(tempfile.mkdtemp(dir=parent, prefix=prefix))
    lock = os.open(folder / LOCK, os.O_CREAT | os.O_WRONLY, 0o600)
    try:
        hold(lock)
        yield folder
    finally:
        os.close(lock)
        shutil.rmtree(folder, ignore_errors=True)


def held_file(parent: Path, *, prefix: str) -> tuple[Path, BinaryIO]:
    """A new file opened for writing and held while it stays open."""
    fd, path = tempfile.mkstemp(dir=parent, prefix=prefix)
    out = os.fdopen(fd, "wb")
    hold(out.fileno())
    return Path(path), out


def _abandoned(entry: Path, now: float) -> bool:
    try:
        if now - entry.lstat().st_mtime < MIN_AGE_SECONDS:
            return False
        target = entry / LOCK if entry.is_dir() else entry
        fd = os.open(target, os.O_RDONLY)
    except FileNotFoundError:
        # A folder without its lock file: made by a process that died at once, or gone.
        return entry.is_dir()
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def sweep(parent: Path | None = None, *, prefix: str = "datacommune-") -> int:
    """Remove the entries of ``parent`` (the system's temporary folder if None) whose name
    starts with ``prefix`` and that no live process holds; return how many went."""
    folder = Path(parent or tempfile.gettempdir())
    if not folder.is_dir():
        return 0
    now = time.time()
    gone = 0
    for entry in folder.iterdir():
        if not entry.name.startswith(prefix) or not _abandoned(entry, now):
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        gone += 1
    if gone:
        log.info("scratch_swept", folder=str(folder), entries=gone)
    return gone
