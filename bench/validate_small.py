"""Milliseconds to check a small file, what the hub does a hundred times a second: the platform's
check against the same check with frictionless's own schema inference and against frictionless
alone, interleaved in one process.

Files: the hub benchmark's CSV without schema (``tests.platform.csv_rows``, 100 and 550 rows)
and ``examples/roques-subventions-2025.csv`` repeated to 5 and 550 rows, checked against SCDL
subventions. Each of ROUNDS rounds checks every file once per side, in turn; each time is the
processor time of one ``reports.check`` (the file written afresh each time, as validate gets
it). Printed: the median per file and side, the ratio to frictionless alone, the load average.

Sides:
  platform:       ``reports.check`` as validate runs it (columnar engine, quick inference);
  frictionless-inference: the same with frictionless's ``Detector`` (its inference builds a
                  cell reader per cell);
  frictionless:   ``reports.check(engine="frictionless")`` with frictionless's ``Detector``:
                  frictionless infers and reads every row (the baseline; the French checks and
                  the report are the same on every side).

    .venv/bin/python bench/validate_small.py [--rounds 40]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from frictionless import Detector

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from datacommune.validate.registry import BUILTIN, Registry  # noqa: E402
from datacommune.validate.reports import report as reports  # noqa: E402
from tests.platform import csv_rows  # noqa: E402


def example(rows: int) -> bytes:
    lines = (ROOT / "examples" / "roques-subventions-2025.csv").read_bytes().splitlines()
    header, body = lines[0], lines[1:]
    return b"\n".join([header, *(body[i % len(body)] for i in range(rows))]) + b"\n"


@contextmanager
def frictionless_detector() -> Iterator[None]:
    """frictionless's own ``Detector`` where the platform puts its quick one."""
    quick = reports.QuickDetector
    reports.QuickDetector = Detector  # type: ignore[misc]
    try:
        yield
    finally:
        reports.QuickDetector = quick  # type: ignore[misc]


def sides() -> dict[str, Callable[[Path, Any], object]]:
    def platform(path: Path, schema: Any) -> object:
        return reports.check(path, schema=schema)

    def frictionless_inference(path: Path, schema: Any) -> object:
        with frictionless_detector():
            return reports.check(path, schema=schema)

    def frictionless(path: Path, schema: Any) -> object:
        with frictionless_detector():
            return reports.check(path, schema=schema, engine="frictionless")

    return {
        "platform": platform,
        "frictionless-inference": frictionless_inference,
        "frictionless": frictionless,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    scdl = Registry.from_dirs([BUILTIN]).get("scdl-subventions")
    files = {
        "100 rows, no schema": (csv_rows(100, "bench"), None),
        "550 rows, no schema": (csv_rows(550, "bench"), None),
        "5 rows, SCDL": (example(5), scdl),
        "550 rows, SCDL": (example(550), scdl),
    }
    ways = sides()
    times: dict[tuple[str, str], list[float]] = {(f, s): [] for f in files for s in ways}
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds + 2):
            for name, (content, schema) in files.items():
                for side, check in ways.items():
                    path = Path(tmp) / f"{round_}" / "file.csv"
                    path.parent.mkdir(exist_ok=True)
                    path.write_bytes(content)
                    began = time.process_time()
                    check(path, schema)
                    spent = time.process_time() - began
                    if round_ >= 2:  # the first rounds warm caches and imports
                        times[(name, side)].append(spent * 1000)
                    for leftover in path.parent.iterdir():
                        leftover.unlink()
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    print(f"medians of {args.rounds} rounds, processor ms per reports.check:")
    print(f"  {'file':22}" + "".join(f"{side:>24}" for side in ways) + "  frictionless / platform")
    for name in files:
        medians = {side: statistics.median(times[(name, side)]) for side in ways}
        ratio = medians["frictionless"] / medians["platform"]
        print(
            f"  {name:22}" + "".join(f"{medians[side]:24.1f}" for side in ways) + f"  x{ratio:.2f}"
        )


if __name__ == "__main__":
    main()
