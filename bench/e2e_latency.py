"""Seconds from upload to catalogue visibility, on embedded defaults.

Starts the whole platform (nats-server, four services, SQLite, local files) in a temporary
folder, posts UPLOADS distinct 100-row CSV files one after the other, and for each measures the
time from the start of the POST until the catalogue serves the new version. The baseline, timed
in the same run, is the bare POST (ingest alone: stream, hash, store, commit): what is left is
the cost of the trip through validate and catalog over JetStream.

    .venv/bin/python bench/e2e_latency.py [--uploads 50] [--rows 100]
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.figures import percentile  # noqa: E402
from tests.platform import csv_rows, running_platform  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=50)
    parser.add_argument("--rows", type=int, default=100)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, running_platform(Path(tmp)) as running:
        token = running.organization("bench")
        catalog = running.url("catalog")
        with httpx.Client(timeout=30) as client:
            total, posting = [], []
            for i in range(args.uploads):
                content = csv_rows(args.rows, f"bench-{time.time_ns()}-{i}")
                started = time.perf_counter()
                response = running.upload(
                    token, content, dataset="bench", filename=f"releve-{i:03d}.csv"
                )
                posted = time.perf_counter()
                assert response.status_code == 202, response.text
                key = f"releve-{i:03d}"
                while True:
                    dataset = client.get(f"{catalog}/api/v1/datasets/bench")
                    if dataset.status_code == 200 and any(
                        r["key"] == key for r in dataset.json()["resources"]
                    ):
                        break
                    time.sleep(0.005)
                total.append(time.perf_counter() - started)
                posting.append(posted - started)

    median, p95 = statistics.median(total), percentile(total, 0.95)
    base_median = statistics.median(posting)
    print(f"uploads: {args.uploads} x {args.rows}-row CSV, embedded defaults (SQLite, local files)")
    print(f"upload -> visible in catalogue: median {median:.3f} s, p95 {p95:.3f} s")
    print(f"baseline, POST accepted by ingest alone: median {base_median:.3f} s")
    print(f"ratio end-to-end / baseline (median): {median / base_median:.1f}x")
    print(f"target median < 1 s: {'met' if median < 1 else 'NOT met'}")


if __name__ == "__main__":
    main()
