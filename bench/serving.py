"""What the read benches share: our catalog and Datasette served over HTTP on loopback, and
requests timed against both, interleaved, one client then eight.

Both sides are real servers in processes of their own, reached by the same client code, so a
figure includes HTTP and JSON encoding on both sides alike. Sides take turns round after round
(A, B, then B, A…), so a change in the machine's load falls on both.
"""

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.figures import percentile  # noqa: E402
from tests.servers import free_port, nats_server, wait_port  # noqa: E402

Params = list[tuple[str, str]]


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


@contextmanager
def catalog_server(database_url: str, var: Path, rows_dir: Path | None = None) -> Iterator[str]:
    """Our catalog service (``python -m datacommune.catalog``) on an already seeded database,
    with a nats-server of its own (``rows_dir``: where a SQLite catalogue's rows were loaded);
    its base URL."""
    var.mkdir(parents=True, exist_ok=True)
    with nats_server() as nats:
        port = free_port()
        env = {
            **os.environ,
            "HTTP__HOST": "127.0.0.1",
            "HTTP__PORT": str(port),
            "HTTP__PUBLIC_URL": f"http://127.0.0.1:{port}",
            "NATS__URL": nats.url,
            "DATABASE__URL": database_url,
            "STORAGE__ROOT": str(var / "files"),
            "STAGING_DIR": str(var / "staging"),
            "WORK_DIR": str(var / "work"),
            "ROWS_DIR": str(rows_dir or var / "rows"),
            "LOG_LEVEL": "WARNING",
            # One client on loopback asking as fast as it can is the point here, not an abuse
            # (Datasette has no such limit).
            "HTTP__REQUESTS_PER_SECOND": "0",
        }
        log = (var / "catalog.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "datacommune.catalog"], env=env, stdout=log, stderr=log
        )
        try:
            wait_port(port, process, timeout=600)
            yield f"http://127.0.0.1:{port}"
        finally:
            _stop(process)
            log.close()


@contextmanager
def datasette_server(path: Path, settings: dict[str, str]) -> Iterator[str]:
    """Datasette (``pip install -e '.[bench]'``) serving the file immutable, with its counts
    precomputed by ``datasette inspect`` (the analog of our stored counts); its base URL."""
    counts = path.with_suffix(".json")
    command = [sys.executable, "-m", "datasette"]
    subprocess.run([*command, "inspect", str(path), "--inspect-file", str(counts)], check=True)
    port = free_port()
    options = [item for key, value in settings.items() for item in ("--setting", key, value)]
    process = subprocess.Popen(
        [
            *command,
            "serve",
            "-i",
            str(path),
            "--inspect-file",
            str(counts),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            *options,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port, process, timeout=120)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class Side:
    """One server and how it asks each request: ``url(params)`` gives the URL and query of
    one request in that server's words; ``check(params, body)`` raises if the answer is
    wrong and returns what to compare across sides (e.g. the total), or None: nothing to."""

    name: str
    base: str
    url: Callable[[Params], tuple[str, Params]]
    check: Callable[[Params, dict[str, Any]], Any]


@dataclass
class Kind:
    """One kind of request; its parameters rotate across repetitions."""

    name: str
    params: list[Params]
    # Per side: each request's seconds alone (one client), and each round's requests/s at
    # ``clients`` clients.
    latency: dict[str, list[float]] = field(default_factory=dict)
    rate: dict[str, list[float]] = field(default_factory=dict)


async def _timed(client: httpx.AsyncClient, side: Side, params: Params) -> tuple[float, Any]:
    path, query = side.url(params)
    started = time.perf_counter()
    response = await client.get(side.base + path, params=query)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(f"{side.name}: {response.status_code} {response.text[:500]}")
    return elapsed, side.check(params, response.json())


async def _drain(client: httpx.AsyncClient, side: Side, queue: list[Params]) -> None:
    """Ask the queue's requests one after the other until none is left (one client)."""
    while queue:
        await _timed(client, side, queue.pop())


async def _round(
    side: Side, kinds: list[Kind], requests: int, clients: int, seen: dict[str, Any]
) -> None:
    async with httpx.AsyncClient(
        timeout=120, limits=httpx.Limits(max_connections=clients)
    ) as client:
        for kind in kinds:
            latencies = kind.latency.setdefault(side.name, [])
            for n in range(requests):
                params = kind.params[n % len(kind.params)]
                elapsed, answer = await _timed(client, side, params)
                latencies.append(elapsed)
                key = json.dumps(params)
                if answer is None:
                    continue  # nothing to compare (e.g. an estimate, which ``check`` kept)
                if seen.setdefault(key, answer) != answer:
                    raise SystemExit(
                        f"{kind.name} {params}: {side.name} {answer}, before {seen[key]}"
                    )
            queue = [kind.params[n % len(kind.params)] for n in range(requests * clients)]

            started = time.perf_counter()
            await asyncio.gather(*(_drain(client, side, queue) for _ in range(clients)))
            kind.rate.setdefault(side.name, []).append(
                requests * clients / (time.perf_counter() - started)
            )


def interleaved(
    sides: list[Side], kinds: list[Kind], *, rounds: int, requests: int, clients: int = 8
) -> dict[str, Any]:
    """Every side, round after round, the order reversed each round; in a round each side
    asks every kind ``requests`` times alone, then ``requests × clients`` times from
    ``clients`` clients at once. Warms each side up first (one pass, not counted). Raises if
    two sides answer a request differently (``check``'s value). The figures, as a dict."""
    seen: dict[str, Any] = {}
    loads = [load_average()]
    for side in sides:
        asyncio.run(_round(side, kinds, 1, 1, seen))
    for kind in kinds:
        kind.latency.clear()
        kind.rate.clear()
    for n in range(rounds):
        for side in sides if n % 2 == 0 else sides[::-1]:
            asyncio.run(_round(side, kinds, requests, clients, seen))
        loads.append(load_average())
    return {
        "answers": seen,
        "rounds": rounds,
        "requests_per_round": requests,
        "clients": clients,
        "load_average": loads,
        "kinds": {
            kind.name: {
                side.name: {
                    "p50_ms": statistics.median(kind.latency[side.name]) * 1000,
                    "p95_ms": percentile(kind.latency[side.name], 0.95) * 1000,
                    "requests_per_second": statistics.median(kind.rate[side.name]),
                }
                for side in sides
            }
            for kind in kinds
        },
    }


def report(figures: dict[str, Any], baseline: str) -> None:
    """The table of ``interleaved``'s figures, each side beside ``baseline``."""
    kinds = figures["kinds"]
    names = list(next(iter(kinds.values())))
    print(
        f"\n{figures['rounds']} interleaved rounds; per round and side, {figures['requests_per_round']} "
        f"requests per kind alone (p50/p95 ms) then at {figures['clients']} clients (requests/s)"
    )
    print(f"load average (1, 5, 15 min) before and after each round: {figures['load_average']}")
    header = f"{'kind':<28}" + "".join(f"{n + ' p50/p95':>24}{n + ' req/s':>16}" for n in names)
    header += "".join(f"{f'req/s {n}/{baseline}':>24}" for n in names if n != baseline)
    print(header)
    for kind, by_side in kinds.items():
        line = f"{kind:<28}"
        for n in names:
            f = by_side[n]
            line += f"{f['p50_ms']:>15.1f} /{f['p95_ms']:>6.1f}{f['requests_per_second']:>16.0f}"
        for n in names:
            if n != baseline:
                ratio = by_side[n]["requests_per_second"] / by_side[baseline]["requests_per_second"]
                line += f"{ratio:>23.2f}x"
        print(line)
