"""How precisely releases open: 200 bundles due in the same minute, on embedded defaults.

Starts the whole platform (nats-server, the four services, SQLite, local files), plans BUNDLES
releases due one after the other within one minute (spread evenly, several at the same second),
uploads a file for each with ``release=<id>``, waits for the minute to pass, then reads when each
bundle was opened by the scheduler (events) and when its files became public in the catalogue
(catalog's ``opened_releases.applied_at``, the moment a reader can get them). Prints the
distribution of (public − due) and (opened − due), and the number of early openings, which must
be 0. Baseline, in the same run: a release due *now* planned with nothing waiting — the floor
the scheduler's one-second wake-up and the bus give.

    .venv/bin/python bench/release_precision.py [--bundles 200] [--window 60]
"""

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.figures import percentile  # noqa: E402
from tests.platform import running_platform  # noqa: E402


def describe(name: str, seconds: list[float]) -> None:
    print(
        f"{name:<22} min {min(seconds) * 1000:8.1f} ms   p50 {percentile(seconds, 0.5) * 1000:8.1f} ms"
        f"   p95 {percentile(seconds, 0.95) * 1000:8.1f} ms   max {max(seconds) * 1000:8.1f} ms"
        f"   mean {statistics.fmean(seconds) * 1000:8.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundles", type=int, default=200)
    parser.add_argument("--window", type=float, default=60.0, help="seconds the dues span")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, running_platform(Path(tmp)) as running:
        token = running.organization("bench-releases")
        headers = {"Authorization": f"Bearer {token}"}
        events_api = running.url("events") + "/api/v1/releases"
        with httpx.Client(timeout=30, headers=headers) as client:
            # Planning and uploading 200 bundles takes a while: the minute starts after.
            start = datetime.now(UTC) + timedelta(seconds=30 + args.bundles * 0.1)
            step = args.window / args.bundles
            plans: dict[str, datetime] = {}
            for n in range(args.bundles):
                # Two by two at the same instant: simultaneous dues are the hard case.
                due = start + timedelta(seconds=(n // 2) * 2 * step)
                plan = client.post(events_api, json={"title": f"Lot {n}", "at": due.isoformat()})
                assert plan.status_code == 201, plan.text
                plans[plan.json()["id"]] = due
                upload = client.post(
                    running.url("ingest") + "/api/v1/uploads",
                    data={"dataset": f"lot-{n}", "release": plan.json()["id"]},
                    files={"file": (f"lot-{n}.csv", f"n,v\n{n},1\n".encode(), "text/csv")},
                )
                assert upload.status_code == 202, upload.text
            assert datetime.now(UTC) < start, "planning took longer than the lead time"
            print(f"{args.bundles} bundles due from {start:%H:%M:%S} over {args.window:.0f} s")
            last = max(plans.values())
            while datetime.now(UTC) < last + timedelta(seconds=5):
                time.sleep(0.5)
            # Baseline: a release due now, nothing waiting for it.
            now = datetime.now(UTC)
            baseline = client.post(events_api, json={"title": "base", "at": now.isoformat()})
            time.sleep(3)
            base = client.get(f"{events_api}/{baseline.json()['id']}").json()

        catalog_db = sqlite3.connect(Path(tmp) / "catalog.db")
        applied = {
            row[0]: (datetime.fromisoformat(row[1]), datetime.fromisoformat(row[2]))
            for row in catalog_db.execute(
                "SELECT release_id, opened_at, applied_at FROM opened_releases"
            )
        }
        catalog_db.close()

    public, opened, early, missing = [], [], 0, 0
    for release_id, due in plans.items():
        key = release_id.replace("-", "")
        found = applied.get(key) or applied.get(release_id)
        if found is None:
            missing += 1
            continue
        opened_at, applied_at = (t if t.tzinfo else t.replace(tzinfo=UTC) for t in found)
        opened.append((opened_at - due).total_seconds())
        public.append((applied_at - due).total_seconds())
        early += opened_at < due or applied_at < due
    print(f"opened: {len(public)} / {args.bundles}   not opened: {missing}   early: {early}")
    describe("opened − due", opened)
    describe("public − due", public)
    print(
        f"baseline (one release, nothing waiting): opened − due {base['delay_seconds'] * 1000:.1f} ms"
    )
    print(f"within 2 s: {sum(p < 2 for p in public)} / {len(public)}")


if __name__ == "__main__":
    main()
