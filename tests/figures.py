"""Figures a test measures (a soak's ledger, the production run's phases), shown in CI's log.

Under pytest-xdist a worker's output never reaches the terminal, so a test records its figures
here, in ``var/test-figures/`` (one file per run); the controller prints them all at the end
of the session (``pytest_terminal_summary`` in tests/conftest.py), pass or fail.
"""

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
