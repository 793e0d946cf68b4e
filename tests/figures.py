"""Figures a test measures (a soak's ledger, the production run's phases), shown in CI's log.

Under pytest-xdist a worker's output never reaches the terminal, so a test records its figures
here, in ``var/test-figures/`` (one file per run); the controller prints them all at the end
of the session (``pytest_terminal_summary`` in tests/conftest.py), pass or fail. The two
measures the tests and the benchmarks (bench/) take are here too.
"""

import os
import re
from pathlib import Path

FOLDER = Path(__file__).resolve().parents[1] / "var" / "test-figures"


def record(name: str, text: str) -> None:
    """Keep ``text`` under ``name`` for the session's summary (and print it, for ``-s``)."""
    FOLDER.mkdir(parents=True, exist_ok=True)
    (FOLDER / f"{re.sub(r'[^A-Za-z0-9_.-]', '-', name)}.txt").write_text(text + "\n")
    print(text)  # noqa: T201 - seen with -s


def clear() -> None:
    for old in FOLDER.glob("*.txt"):
        old.unlink()


def recorded() -> list[tuple[str, str]]:
    return [(path.stem, path.read_text()) for path in sorted(FOLDER.glob("*.txt"))]


def percentile(values: list[float], q: float) -> float:
    """The value at fraction ``q`` of the sorted ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def cpu_seconds(pid: int) -> float:
    """User and system processor time of a process, from /proc (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# A service builds its OpenAPI document on the first request for it (the catalog's is large):
# seconds on a machine busy with other tests' platforms, more than httpx's default 5 s.
OPENAPI_WAIT = 30.0
