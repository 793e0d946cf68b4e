"""Pooled data at a département's scale, on the embedded platform (issue 17).

Starts the whole platform (nats-server, four services, SQLite or PostgreSQL, local files),
registers a département and COMMUNES communes in it, and has each upload a ROWS-row SCDL
subsidies file through ingest (COMMUNES × ROWS rows pooled). Then REPUBLISH communes send a
new file one after the other, and then REPUBLISH more all at once (a burst). For each
republication it reads, from the catalogue, when the commune's version was published and when
the first consolidated version holding it was made: that delay is the figure (target p95 < 2 s).
It prints the rows of work of each update (rows added and removed, from the versions' change
summaries, against the pool's size), how many versions the burst made, and the throughput of
downloading the whole consolidated file against the named baseline: downloading one commune's
file over the same HTTP endpoint, interleaved. Results are also written as JSON.

    .venv/bin/python bench/consolidation.py [--communes 600] [--rows 200] [--republish 50]
        [--engine sqlite|postgresql] [--json bench-consolidation.json]
"""

import argparse
import contextlib
import csv
import io
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import servers  # noqa: E402
from tests.figures import percentile  # noqa: E402
from tests.platform import ADMIN, Running, running_platform  # noqa: E402

EXAMPLE = ROOT / "examples" / "roques-subventions-2025.csv"
TERRITORY = "haute-garonne"
POOL = f"{TERRITORY}--scdl-subventions"


def subsidies(commune: str, rows: int, edition: int) -> bytes:
    """A valid SCDL subsidies file of ``rows`` rows, distinct per commune and edition."""
    with EXAMPLE.open(newline="", encoding="utf-8") as f:
        template = list(csv.DictReader(f))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(template[0]), lineterminator="\n")
    writer.writeheader()
    for n in range(rows):
        row = dict(template[n % len(template)])
        row["nomAttribuant"] = commune.title()
        row["referenceDecision"] = f"DEL-{commune}-{edition}-{n:05d}"
        row["objet"] = f"Subvention {n} de {commune}, édition {edition}"
        row["montant"] = str(100 + n + edition)
        writer.writerow(row)
    return out.getvalue().encode()


@contextlib.contextmanager
def platform(engine: str, var: Path) -> Iterator[Running]:
    if engine == "sqlite":
        with running_platform(var) as running:
            yield running
        return
    with contextlib.ExitStack() as stack:
        databases = {
            name: stack.enter_context(servers.postgres_database())
            for name in ("ingest", "validate", "catalog", "events")
        }
        yield stack.enter_context(running_platform(var, databases=databases))


def register(running: Running, count: int) -> dict[str, str]:
    """The département and its communes; each commune's token, once ingest knows them all."""
    admin = {"Authorization": f"Bearer {ADMIN}"}
    catalog = running.url("catalog") + "/api/v1/organizations"
    made = running.client.post(
        catalog,
        json={"slug": TERRITORY, "name": "Haute-Garonne", "kind": "departement"},
        headers=admin,
    )
    assert made.status_code == 201, made.text
    tokens = {}
    for i in range(count):
        slug = f"commune-{i:03d}"
        made = running.client.post(
            catalog,
            json={"slug": slug, "name": f"Commune {i}", "parent": TERRITORY},
            headers=admin,
        )
        assert made.status_code == 201, made.text
        tokens[slug] = made.json()["token"]
    last = tokens[f"commune-{count - 1:03d}"]
    deadline = time.monotonic() + 120
    while (
        running.client.get(
            running.url("ingest") + "/api/v1/whoami", headers={"Authorization": f"Bearer {last}"}
        ).status_code
        != 200
    ):
        assert time.monotonic() < deadline, "the communes' tokens did not reach ingest"
        time.sleep(0.1)
    return tokens


def upload_all(running: Running, files: dict[str, tuple[str, bytes]]) -> None:
    """Upload each commune's file (4 at a time) and wait until every one is published."""

    def send(item: tuple[str, tuple[str, bytes]]) -> tuple[str, str]:
        commune, (token, content) = item
        sent = running.upload(
            token,
            content,
            dataset=f"subventions-{commune}",
            schema="scdl-subventions",
            title="Subventions",
        )
        assert sent.status_code == 202, sent.text
        return token, sent.json()["id"]

    with ThreadPoolExecutor(4) as pool:
        sent = list(pool.map(send, files.items()))
    for token, upload_id in sent:
        running.wait_status(token, upload_id, {"published", "invalid", "rejected"}, timeout=600)
        assert running.status(token, upload_id)["status"] == "published"


def pool_state(running: Running) -> dict[str, Any]:
    answer = running.client.get(running.url("catalog") + f"/api/v1/pools/{POOL}")
    return dict(answer.json()) if answer.status_code == 200 else {}


def wait_pooled(running: Running, communes: set[str], editions: dict[str, int]) -> dict[str, Any]:
    """Until the pool holds each commune's newest edition; the pool then."""
    deadline = time.monotonic() + 900
    while True:
        state = pool_state(running)
        held = {s["organization"]: s["version"] for s in state.get("sources", [])}
        if communes <= held.keys() and all(
            latest_version(running, c) == held[c] for c in communes if editions.get(c)
        ):
            return state
        assert time.monotonic() < deadline, "the pool did not catch up"
        time.sleep(0.2)


_versions: dict[str, tuple[str, str]] = {}


def latest_version(running: Running, commune: str) -> str:
    body = running.client.get(
        running.url("catalog") + f"/api/v1/datasets/subventions-{commune}"
    ).json()
    latest = body["resources"][0]["latest"]
    _versions[commune] = (latest["id"], latest["published_at"])
    return str(latest["id"])


def delays(state: dict[str, Any], communes: list[str]) -> list[float]:
    """For each commune: from its newest version's publication to the first pooled version
    holding it (both read from the catalogue's records)."""
    made_at: dict[str, str] = {}
    for version in state["versions"]:
        for change in version["changes"]:
            if change.get("version"):
                made_at.setdefault(change["version"], version["created_at"])
    found = []
    for commune in communes:
        version_id, published_at = _versions[commune]
        pooled = made_at[version_id]
        found.append(
            (datetime.fromisoformat(pooled) - datetime.fromisoformat(published_at)).total_seconds()
        )
    return found


def download_rate(client: httpx.Client, url: str, rounds: int = 3) -> tuple[float, int]:
    """Median MB/s of downloading ``url`` whole, and its size."""
    rates, size = [], 0
    for _ in range(rounds):
        started = time.perf_counter()
        size = 0
        with client.stream("GET", url) as answer:
            for chunk in answer.iter_bytes(1 << 20):
                size += len(chunk)
        rates.append(size / 1e6 / (time.perf_counter() - started))
    return statistics.median(rates), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--communes", type=int, default=600)
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--republish", type=int, default=50)
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--json", default="bench-consolidation.json")
    parser.add_argument("--logs", help="a folder to copy the services' logs to, for a timeline")
    args = parser.parse_args()
    results: dict[str, Any] = {"args": vars(args), "loadavg_start": os.getloadavg()}

    with tempfile.TemporaryDirectory() as tmp, platform(args.engine, Path(tmp)) as running:
        log = Path(tmp) / "logs" / "catalog.log"
        started = time.perf_counter()
        tokens = register(running, args.communes)
        communes = sorted(tokens)
        upload_all(running, {c: (tokens[c], subsidies(c, args.rows, 1)) for c in communes})
        state = wait_pooled(running, set(communes), {})
        results["setup_seconds"] = time.perf_counter() - started
        results["pooled_rows"] = state["versions"][0]["rows"]
        first_number = state["number"]

        # One after the other: each waits for its consolidated version.
        sequential = communes[: args.republish]
        for commune in sequential:
            upload_all(running, {commune: (tokens[commune], subsidies(commune, args.rows, 2))})
            state = wait_pooled(running, {commune}, {commune: 2})
        one_by_one = delays(state, sequential)
        after_sequential = state["number"]

        # A burst: sent together.
        burst = communes[args.republish : 2 * args.republish]
        upload_all(running, {c: (tokens[c], subsidies(c, args.rows, 2)) for c in burst})
        state = wait_pooled(running, set(burst), dict.fromkeys(burst, 2))
        at_once = delays(state, burst)
        burst_versions = state["number"] - after_sequential

        work = [
            sum(c["added"] + c["removed"] for c in v["changes"])
            for v in state["versions"]
            if v["number"] > first_number
        ]
        # The pooler's own time per version (its log), against the delays above.
        spent = [
            entry["seconds"]
            for entry in map(json.loads, (x for x in log.read_text().splitlines() if x[:1] == "{"))
            if entry.get("event") == "pool_version" and entry.get("number", 0) > first_number
        ]
        pooled_url = state["versions"][0]["download_url"]
        described = running.client.get(state["url"]).json()
        sizes = [v["size"] for r in described["resources"] for v in r["versions"]]
        stored = sum(f.stat().st_size for f in (Path(tmp) / "files").rglob("*") if f.is_file())
        if args.logs:
            shutil.copytree(Path(tmp) / "logs", args.logs, dirs_exist_ok=True)
        single_url = (
            running.url("catalog") + f"/api/v1/versions/{_versions[communes[0]][0]}/download"
        )
        with httpx.Client(timeout=120) as client:
            pooled_rates, single_rates = [], []
            for _ in range(3):  # interleaved: pooled, single, pooled, single…
                rate, pooled_size = download_rate(client, pooled_url, rounds=1)
                pooled_rates.append(rate)
                rate, single_size = download_rate(client, single_url, rounds=1)
                single_rates.append(rate)

    results.update(
        loadavg_end=os.getloadavg(),
        sequential_p50=statistics.median(one_by_one),
        sequential_p95=percentile(one_by_one, 0.95),
        burst_p50=statistics.median(at_once),
        burst_p95=percentile(at_once, 0.95),
        burst_versions=burst_versions,
        pooler_seconds_p50=statistics.median(spent),
        pooler_seconds_p95=percentile(spent, 0.95),
        work_rows_median=statistics.median(work),
        work_rows_max=max(work),
        pooled_file_bytes=pooled_size,
        pooled_versions=len(sizes),
        pooled_versions_bytes=sum(sizes),
        storage_bytes=stored,
        pooled_download_mb_s=statistics.median(pooled_rates),
        single_file_bytes=single_size,
        single_download_mb_s=statistics.median(single_rates),
    )
    r = results
    print(
        f"pooled data, {args.engine}: {args.communes} communes x {args.rows} rows = "
        f"{r['pooled_rows']} rows pooled (set-up {r['setup_seconds']:.0f} s)"
    )
    print(f"load average at start {r['loadavg_start'][0]:.2f}, at end {r['loadavg_end'][0]:.2f}")
    print(
        f"published -> pooled version public, {args.republish} one by one: "
        f"p50 {r['sequential_p50']:.2f} s, p95 {r['sequential_p95']:.2f} s (target p95 < 2 s)"
    )
    print(
        f"published -> pooled version public, {args.republish} as a burst: "
        f"p50 {r['burst_p50']:.2f} s, p95 {r['burst_p95']:.2f} s, "
        f"in {r['burst_versions']} version(s)"
    )
    print(
        f"of which the pooler's transaction: p50 {r['pooler_seconds_p50']:.2f} s, "
        f"p95 {r['pooler_seconds_p95']:.2f} s (after waiting 0.3 s for a burst to gather)"
    )
    print(
        f"rows of work per update: median {r['work_rows_median']}, max {r['work_rows_max']} "
        f"(a republication is {2 * args.rows} rows: {args.rows} out, {args.rows} in; "
        f"the pool holds {r['pooled_rows']})"
    )
    print(
        f"download of the whole pooled file ({r['pooled_file_bytes'] / 1e6:.1f} MB): "
        f"{r['pooled_download_mb_s']:.0f} MB/s; baseline, one commune's file "
        f"({r['single_file_bytes'] / 1e3:.0f} kB) over the same endpoint: "
        f"{r['single_download_mb_s']:.1f} MB/s (target >= 50 MB/s)"
    )
    print(
        f"the pool's {r['pooled_versions']} versions' files: "
        f"{r['pooled_versions_bytes'] / 1e9:.2f} GB if all were kept; the whole storage folder "
        f"(uploads, repairs, reports, the newest pooled files): {r['storage_bytes'] / 1e9:.2f} GB"
    )
    Path(args.json).write_text(json.dumps(results, indent=2))
    print(f"results written to {args.json}")


if __name__ == "__main__":
    main()
