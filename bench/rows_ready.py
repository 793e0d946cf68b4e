"""Seconds from a large file's publication until its rows answer, through the running platform.

Starts the platform — on embedded defaults (SQLite, local files), or with ``--postgres`` every
service on its own PostgreSQL database — and posts one CSV of ROWS subventions-like records
(``bench/catalog_rows.py``'s, fixed seed). A plain NATS subscription sees
``resource.published.v1`` (``bench/hub_throughput.py``'s listener); from then on ``GET /api/v1/versions/{id}/rows?_size=1`` is asked
every 50 ms until it answers 200: the rows are queryable. Target (issue 19): a 1,000,000-row
file queryable within 20 s of its publication.

Baseline, in the same run on the same machine: the database's own bulk path for the same file
and the same indexes, with nothing of ours — PostgreSQL's ``COPY … FROM STDIN (FORMAT csv)`` of
the file's bytes on PostgreSQL, Python's csv reader and one prepared ``executemany`` on SQLite —
run before and after the platform's load (A, B, A), the median printed; then the ratio.

    .venv/bin/python bench/rows_ready.py [--rows 1000000] [--postgres]
"""

import argparse
import asyncio
import csv
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack, nullcontext
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import catalog_rows  # noqa: E402
from hub_throughput import Publications  # noqa: E402

from tests import servers  # noqa: E402
from tests.platform import running_platform  # noqa: E402

COLUMNS = ["nom", "commune", "objet", "montant", "annee", "date_convention", "lat", "long"]
PG_TYPES = ["text", "text", "text", "float8", "bigint", "date", "float8", "float8"]
SQLITE_TYPES = ["TEXT", "TEXT", "TEXT", "REAL", "INTEGER", "TEXT", "REAL", "REAL"]


def baseline_postgres(url: str, source: Path) -> float:
    """COPY of the file's own bytes, then one index per column with the row number: what the
    loader builds, with PostgreSQL doing all the parsing."""

    async def run() -> float:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        table = f"baseline_{uuid.uuid4().hex[:8]}"
        columns = ", ".join(f"{n} {t}" for n, t in zip(COLUMNS, PG_TYPES, strict=True))
        started = time.perf_counter()
        async with conn.transaction():
            # The row number from a sequence, as the table is filled: no second pass over it.
            await conn.execute(f"CREATE TABLE {table} (_row bigserial PRIMARY KEY, {columns})")
            with source.open("rb") as f:
                await conn.copy_to_table(
                    table,
                    source=f,
                    columns=COLUMNS,
                    format="csv",
                    header=True,
                    delimiter=";",
                    freeze=True,
                )
        for name in COLUMNS:
            await conn.execute(f"CREATE INDEX ON {table} ({name}, _row)")
        await conn.execute(f"ANALYZE {table}")
        seconds = time.perf_counter() - started
        await conn.execute(f"DROP TABLE {table}")
        await conn.close()
        return seconds

    return asyncio.run(run())


def baseline_sqlite(folder: Path, source: Path) -> float:
    """Python's csv reader into one prepared executemany, then one index per column."""
    path = folder / f"baseline-{uuid.uuid4().hex[:8]}.db"
    started = time.perf_counter()
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    columns = ", ".join(f"{n} {t}" for n, t in zip(COLUMNS, SQLITE_TYPES, strict=True))
    db.execute(f"CREATE TABLE t (_row INTEGER PRIMARY KEY, {columns})")
    marks = ", ".join("?" * (len(COLUMNS) + 1))
    with source.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f, delimiter=";")
        next(reader)
        db.executemany(
            f"INSERT INTO t VALUES ({marks})", ((n, *r) for n, r in enumerate(reader, start=2))
        )
    for name in COLUMNS:
        db.execute(f"CREATE INDEX ix_{name} ON t ({name}, _row)")
    db.commit()
    db.close()
    seconds = time.perf_counter() - started
    path.unlink()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--postgres", action="store_true", help="every service on PostgreSQL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-ready-") as tmp:
        folder = Path(tmp)
        source = folder / "subventions.csv"
        catalog_rows.write(source, args.rows)
        size = source.stat().st_size
        engine = "PostgreSQL" if args.postgres else "SQLite"
        print(f"file: {args.rows:,} rows, {size / 2**20:.0f} MiB; {engine}")
        print(f"load average before {os.getloadavg()[0]:.2f}")
        with servers.postgres_database() if args.postgres else nullcontext() as baseline_url:

            def baseline() -> float:
                if baseline_url:
                    return baseline_postgres(baseline_url, source)
                return baseline_sqlite(folder, source)

            baselines = [baseline()]
            mine = ready_after_publication(folder, source, args)
            baselines.append(baseline())
        print(f"load average after {os.getloadavg()[0]:.2f}")
        print(f"upload -> published: {mine['published']:.1f} s")
        print(
            f"published -> rows answer: {mine['ready']:.1f} s "
            f"({args.rows / mine['ready']:,.0f} rows/s)"
        )
        base = statistics.median(baselines)
        print(
            f"baseline, the database's bulk path alone ({engine}): "
            + ", ".join(f"{b:.1f} s" for b in baselines)
            + f" ({args.rows / base:,.0f} rows/s)"
        )
        print(f"ratio platform / baseline: {mine['ready'] / base:.2f}")
        met = mine["ready"] < 20
        print(f"target queryable within 20 s of publication: {'met' if met else 'NOT met'}")


def ready_after_publication(
    folder: Path, source: Path, args: argparse.Namespace
) -> dict[str, float]:
    with ExitStack() as stack:
        databases = {
            name: stack.enter_context(servers.postgres_database())
            for name in (("ingest", "validate", "catalog", "events") if args.postgres else ())
        }
        running = stack.enter_context(
            running_platform(
                folder / "var",
                databases=databases,
                per_service_env={"ingest": {"MAX_UPLOAD_BYTES": str(2 * source.stat().st_size)}},
            )
        )
        token = running.organization("bench")
        with Publications(running.platform.nats) as publications:
            started = time.perf_counter()
            response = running.upload(
                token, source.read_bytes(), dataset="subventions", filename="subventions.csv"
            )
            assert response.status_code == 202, response.text
            while not publications.seen:
                time.sleep(0.02)
            (upload_id, at), *_ = publications.seen.items()
            version_id = publications.versions[upload_id]
        rows_url = f"{running.url('catalog')}/api/v1/versions/{version_id}/rows?_size=1"
        with httpx.Client(timeout=30) as client:
            while client.get(rows_url).status_code != 200:
                time.sleep(0.05)
        return {"published": at - started, "ready": time.perf_counter() - at}


if __name__ == "__main__":
    main()
