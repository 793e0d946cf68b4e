"""The catalogue's memory is bounded by design, not by the files it serves: a table of large
cells is loaded and exported in pages of bounded size, and its caches stop growing."""

import time
from pathlib import Path

import httpx
import pytest

from tests.platform import Running, running_platform
from tests.soak.run import resident

pytestmark = pytest.mark.e2e

CELL = 400 * 1024
ROWS = 60  # 24 MiB of text
MIB = 1024 * 1024


def peak(pid: int) -> int:
    """The highest resident memory of a process so far (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def large_cells() -> bytes:
    lines = ["id,note"] + [f"{i},{chr(97 + i % 26) * CELL}" for i in range(ROWS)]
    return ("\n".join(lines) + "\n").encode()


def published(running: Running, token: str, content: bytes, dataset: str) -> str:
    answer = running.upload(token, content, dataset=dataset)
    assert answer.status_code == 202, answer.text
    done = running.wait_status(token, answer.json()["id"], {"published"}, timeout=120)
    version = str(done["download_url"]).rstrip("/").split("/")[-2]
    rows = f"{running.url('catalog')}/api/v1/versions/{version}/rows"
    deadline = time.monotonic() + 120
    while httpx.get(rows, params={"_size": 1}).status_code != 200:
        assert time.monotonic() < deadline, "rows never loaded"
        time.sleep(0.2)
    return version


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
def test_large_cells_are_loaded_and_exported_in_bounded_memory(tmp_path: Path) -> None:
    with running_platform(tmp_path) as running:
        token = running.organization("memoire")
        pid = running.platform.processes["catalog"].pid
        # Warm up every path once on a small table (imports, caches, pools).
        small = published(running, token, b"id,note\n1,a\n2,b\n", "petit")
        for fmt in ("csv", "json", "parquet", "xlsx"):
            httpx.get(f"{running.url('catalog')}/api/v1/versions/{small}/rows.{fmt}")
        before = resident(pid) or 0
        version = published(running, token, large_cells(), "grandes-cellules")
        base = f"{running.url('catalog')}/api/v1/versions/{version}"
        for fmt in ("csv", "json", "parquet", "xlsx"):
            with httpx.stream("GET", f"{base}/rows.{fmt}", timeout=120) as answer:
                assert answer.status_code == 200
                size = sum(len(chunk) for chunk in answer.iter_bytes())
            if fmt in ("csv", "json"):
                assert size > ROWS * CELL, fmt  # the whole table went out
        grown = peak(pid) - before
    # The file is 24 MiB. Loaded in batches of 10,000 rows and exported in pages of 5,000,
    # whatever their size, it took the catalogue 196 MiB above where it was; in batches and
    # pages of about 1 MiB, 34 MiB (pyarrow's pool and SQLite's caches among them).
    assert grown < 96 * MIB, f"catalog grew by {grown / MIB:.0f} MiB at its peak"
