"""Row API over HTTP on a million-row table, on PostgreSQL and SQLite, beside Datasette.

Writes a CSV of ROWS subventions-like records (600 communes, amounts, years, dates,
coordinates; fixed seed), then loads it through the catalog's own path — migrations,
``datasets.publish`` of a ``file.validated.v1`` carrying its table shape, ``RowLoader`` from a
local object store — into a fresh PostgreSQL database (``bench_rows_<hex>``, dropped at the end)
and into a SQLite file, and prints each load's rate (the search index is built after the rows,
its time printed apart). Then serves them with our catalog service
(``python -m datacommune.catalog``) and times ``GET /api/v1/versions/{id}/rows`` beside the
same query to Datasette, both over HTTP on loopback, interleaved (``serving.interleaved``):
alone (p50/p95) and at 8 clients (requests/s). Kinds: the first page, a filtered and sorted
page (with its count, then with ``_count=false``), a page deep in the cursor (row ~900,000, in
file order and sorted; ours reached by walking our pages over HTTP, Datasette's by its
``_next``), the count of the whole table and of a tenth of it (1-row pages, so the count is the
work), a ``col__contains`` page with its count (past ``COUNT_SECONDS`` ours is estimated and
marked, Datasette's counts on) and a ``_search`` page with its count. Every count of ours
that is not an estimate must equal Datasette's or the bench stops.

The same rows go into a plain SQLite table (one index per column, an FTS5 table over the text
columns) served by Datasette (``pip install -e '.[bench]'``) as an immutable database with its
counts precomputed (``datasette inspect``, the analog of our stored count), facet suggestions
off, slow queries measured rather than cut at 1 s.

Targets: issue 19, every kind at least as fast as Datasette at p95 and in requests/s at 8
clients; issue 4, pages p95 under 50 ms, counts under 100 ms.

    .venv/bin/python bench/catalog_rows.py [--rows 1000000] [--rounds 3] [--requests 5]
        [--sqlite-only] [--json FILE]
"""

import argparse
import asyncio
import csv
import json
import math
import os
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "bench"))

from serving import Kind as ServedKind  # noqa: E402
from serving import (  # noqa: E402
    Side,
    catalog_server,
    datasette_server,
    interleaved,
    load_average,
    report,
)

from datacommune.catalog.rows.loader import RowLoader  # noqa: E402
from datacommune.catalog.tables import RowTable  # noqa: E402
from datacommune.shared import events  # noqa: E402
from datacommune.shared.db import make_engine, make_sessionmaker  # noqa: E402
from datacommune.shared.process.migrations import upgrade  # noqa: E402
from datacommune.shared.settings import DatabaseSettings  # noqa: E402
from datacommune.shared.storage import LocalObjectStore  # noqa: E402
from tests.catalog.publishing import publish_csv  # noqa: E402

MIGRATIONS = ROOT / "services/catalog/src/datacommune/catalog/migrations"
POSTGRES = os.environ.get("DATACOMMUNE_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
FIELDS = [
    events.TableField(name="nom", type="string"),
    events.TableField(name="commune", type="string"),
    events.TableField(name="objet", type="string"),
    events.TableField(name="montant", type="number"),
    events.TableField(name="annee", type="integer"),
    events.TableField(name="date_convention", type="date"),
    events.TableField(name="lat", type="number"),
    events.TableField(name="long", type="number"),
]
SQLITE_TYPES = {"string": "TEXT", "number": "REAL", "integer": "INTEGER", "date": "TEXT"}
FIRST = ["Saint", "Castel", "Mont", "Ville", "Roque", "Lavaur", "Bel", "Font", "Puy", "Sainte"]
SECOND = ["martin", "nau", "ferrand", "franche", "fort", "bonne", "vieille", "neuve", "longue"]
THIRD = ["", "-sur-Garonne", "-de-Lauragais", "-en-Comminges", "-le-Vieux", "-d'Aran", "-les-Bains"]
KINDS = ["Association", "Comité des fêtes", "Club", "Amicale", "Union sportive", "Foyer rural"]
OBJECTS = ["Fête locale", "Fonctionnement", "Équipement", "Festival", "Séjour", "Formation"]
# Searches of one to three words, rare and common, some words only begun.
SEARCHES = ["fete", "club lavaur", "amicale saintmar", "equip 2019", "comite fe", "union lauragais"]
# Parts of names, as a reuser types them (no index serves them: each is a scan).
CONTAINED = ["fêtes", "sportive n°12", "martin", "castel", "n°99"]
PAGE_TARGET, COUNT_TARGET = 0.050, 0.100


def communes() -> list[str]:
    """600 distinct names, the largest first (drawn with Zipf-like weights)."""
    names = [f"{a}{b}{c}" for c in THIRD for a in FIRST for b in SECOND]
    return sorted(set(names))[:600]


def write(path: Path, rows: int) -> None:
    """A subventions file: `;`, UTF-8, ISO dates, 1 % of amounts blank; fixed seed."""
    rng = random.Random(7)
    names = communes()
    weights = [1 / (rank + 1) ** 0.7 for rank in range(len(names))]
    places = {n: (42.8 + rng.random() * 1.0, 0.5 + rng.random() * 1.5) for n in names}
    start = date(2015, 1, 1)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
        writer.writerow([f.name for f in FIELDS])
        picks = rng.choices(names, weights, k=rows)
        for n, commune in enumerate(picks):
            day = start + timedelta(days=rng.randrange(3650))
            lat, long = places[commune]
            amount = "" if rng.random() < 0.01 else f"{math.exp(rng.gauss(7.6, 1.2)):.2f}"
            writer.writerow(
                [
                    f"{rng.choice(KINDS)} n°{n % 9973} de {commune}",
                    commune,
                    f"{rng.choice(OBJECTS)} {day.year}",
                    amount,
                    day.year,
                    day.isoformat(),
                    f"{lat + rng.gauss(0, 0.01):.6f}",
                    f"{long + rng.gauss(0, 0.01):.6f}",
                ]
            )


Params = list[tuple[str, str]]


@dataclass
class Kind:
    """One kind of request: its parameters (rotated across repetitions) and its target."""

    name: str
    target: float
    params: list[Params]
    deep: str | None = None  # "file" or "sorted": the parameters come from a walk
    timings: dict[str, list[float]] = field(default_factory=dict)


def kinds(rows: int) -> list[Kind]:
    names = communes()
    # Communes of every size: the largest has ~8 % of rows, the smallest ~0.02 %.
    filtered = [
        [("commune", names[rank]), ("montant__gte", threshold), ("_sort", "-montant")]
        for rank in (0, 3, 30, 150, 599)
        for threshold in ("500", "2000", "10000")
    ]
    return [
        Kind("first page", PAGE_TARGET, [[("_size", "100")]]),
        Kind("filtered page + count", PAGE_TARGET, filtered),
        Kind(
            "filtered page, _count=false",
            PAGE_TARGET,
            [[*p, ("_count", "false")] for p in filtered],
        ),
        Kind(f"deep page (row {int(rows * 0.9):,})", PAGE_TARGET, [], deep="file"),
        Kind("deep sorted page (montant)", PAGE_TARGET, [], deep="sorted"),
        Kind("count, whole table", COUNT_TARGET, [[("_size", "1")]]),
        Kind("count, annee=2023 (~10 %)", COUNT_TARGET, [[("annee", "2023"), ("_size", "1")]]),
        Kind(
            "contains, first page + count",
            PAGE_TARGET,
            [[("nom__contains", words)] for words in CONTAINED],
        ),
        Kind(
            "_search, first page + count",
            PAGE_TARGET,
            [[("_search", words)] for words in SEARCHES],
        ),
    ]


# --- ours -------------------------------------------------------------------------------


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh database of our own on the server, dropped (forcibly) at the end."""
    name = f"bench_rows_{uuid.uuid4().hex[:12]}"

    async def run(statement: str) -> None:
        conn = await asyncpg.connect(f"{POSTGRES}/postgres", timeout=5)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{POSTGRES.replace('postgresql://', 'postgresql+asyncpg://', 1)}/{name}"
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def load(
    url: str, source: Path, size: int, store_root: Path, rows: int
) -> tuple[uuid.UUID, float]:
    """Publish the file as a version and let the row loader fill its table; the load time."""
    await asyncio.to_thread(upgrade, MIGRATIONS, url)
    engine = make_engine(DatabaseSettings(url=url))
    sessionmaker = make_sessionmaker(engine)
    store = LocalObjectStore(store_root)
    await store.put_file("files/subventions", source, media_type="text/csv")
    await publish_csv(
        sessionmaker,
        object_key="files/subventions",
        size=size,
        rows=rows,
        fields=FIELDS,
        encoding="utf-8",
        source="bench",
    )
    started = time.perf_counter()
    loader = RowLoader(engine, sessionmaker, store)
    if not await loader.load_next():
        raise SystemExit("the row loader found nothing to load")
    seconds = time.perf_counter() - started
    # The search index follows the rows (they answer meanwhile).
    started = time.perf_counter()
    await loader.index_next()
    print(f"  search index built {time.perf_counter() - started:.1f} s after the rows")
    async with sessionmaker() as session:
        table = await session.scalar(select(RowTable))
    await engine.dispose()
    assert table is not None
    if table.status != "ready" or table.row_count != rows:
        raise SystemExit(f"rows not loaded: {table.status} {table.row_count} {table.error}")
    return table.version_id, seconds


def walk(
    base: str, version_id: uuid.UUID, params: Params, stop: int
) -> tuple[str, int, Any, float]:
    """Walk our pages of up to 1,000 rows over HTTP until ``stop`` rows are behind: the cursor
    there, the last ``_row``, its sort value, and the walk's duration."""
    started = time.perf_counter()
    cursor: str | None = None
    seen = 0
    with httpx.Client(base_url=base, timeout=120) as client:
        while seen < stop:
            query = [*params, ("_size", str(min(1000, max(1, stop // 20)))), ("_count", "false")]
            response = client.get(
                f"/api/v1/versions/{version_id}/rows",
                params=query + ([("_cursor", cursor)] if cursor else []),
            )
            response.raise_for_status()
            body = response.json()
            assert body["next_cursor"] is not None
            cursor, seen = body["next_cursor"], seen + len(body["rows"])
            last = body["rows"][-1]
    sort = params[0][1] if params else None
    return cursor or "", last["_row"], last[sort] if sort else None, time.perf_counter() - started


@dataclass
class Deep:
    """Where the deep pages start, for us and for Datasette."""

    row: int = 0
    value: Any = None
    sorted_row: int = 0
    walk_rate: float = 0.0
    sorted_walk_rate: float = 0.0


def find_deep(
    engine_name: str, base: str, version_id: uuid.UUID, rows: int, table: list[Kind]
) -> Deep:
    """Walk to row ~90 %, in file order and by montant, and give the deep kinds their cursors."""
    deep = Deep()
    stop = int(rows * 0.9)
    cursor, deep.row, _, seconds = walk(base, version_id, [], stop)
    deep.walk_rate = stop / seconds
    sorted_cursor, deep.sorted_row, deep.value, seconds = walk(
        base, version_id, [("_sort", "montant")], stop
    )
    deep.sorted_walk_rate = stop / seconds
    print(
        f"{engine_name}: walked {stop:,} rows over HTTP in pages of up to 1,000: "
        f"{deep.walk_rate:,.0f} rows/s in file order, {deep.sorted_walk_rate:,.0f} rows/s by montant"
    )
    for kind in table:
        if kind.deep == "file":
            kind.params = [[("_size", "100"), ("_cursor", cursor)]]
        elif kind.deep == "sorted":
            kind.params = [[("_sort", "montant"), ("_size", "100"), ("_cursor", sorted_cursor)]]
    return deep


def our_side(base: str, version_id: uuid.UUID) -> Side:
    def url(params: Params) -> tuple[str, Params]:
        return f"/api/v1/versions/{version_id}/rows", params

    def check(params: Params, body: dict[str, Any]) -> Any:
        assert body["rows"], params
        # An estimate (a count given up after COUNT_SECONDS) is not compared with Datasette.
        return None if body["total_estimated"] else body["total"]

    return Side("ours", base, url, check)


# --- Datasette ----------------------------------------------------------------------------


def load_plain_sqlite(path: Path, source: Path) -> float:
    """The same rows in a plain table, typed, one index per column; the load time."""
    started = time.perf_counter()
    db = sqlite3.connect(path)
    columns = ", ".join(f'"{f.name}" {SQLITE_TYPES[f.type]}' for f in FIELDS)
    db.execute(f"CREATE TABLE subventions ({columns})")
    convert: list[Callable[[str], Any]] = [
        {"number": float, "integer": int}.get(f.type, str) for f in FIELDS
    ]
    with source.open(encoding="utf-8", newline="") as file:
        reader = csv.reader(file, delimiter=";")
        next(reader)
        marks = ", ".join("?" for _ in FIELDS)
        db.executemany(
            f"INSERT INTO subventions VALUES ({marks})",
            (
                [fn(cell) if cell else None for fn, cell in zip(convert, record, strict=True)]
                for record in reader
            ),
        )
    for f in FIELDS:
        db.execute(f'CREATE INDEX "ix_{f.name}" ON subventions ("{f.name}")')
    # Datasette's full-text search: an FTS5 table over the text columns, found by its content.
    text = ", ".join(f'"{f.name}"' for f in FIELDS if f.type == "string")
    db.execute(
        f'CREATE VIRTUAL TABLE subventions_fts USING fts5({text}, content="subventions", '
        "tokenize='unicode61 remove_diacritics 2')"
    )
    db.execute("INSERT INTO subventions_fts(subventions_fts) VALUES ('rebuild')")
    db.execute("ANALYZE")
    db.commit()
    db.close()
    return time.perf_counter() - started


def datasette(path: Path) -> Any:
    """Datasette serving the file, facet suggestions off, slow queries measured rather than
    cut at the default 1 s."""
    return datasette_server(path, {"suggest_facets": "off", "sql_time_limit_ms": "20000"})


def datasette_params(params: Params, deep: Deep) -> Params:
    """Our parameters in Datasette's words (row numbers: ours count the header, rowids not)."""
    from datasette.utils import tilde_encode

    out: Params = [("_shape", "objects")]
    for key, value in params:
        if key == "_count":
            out.append(("_nocount", "1"))
        elif key == "_sort" and value.startswith("-"):
            out.append(("_sort_desc", value[1:]))
        elif key == "_search":
            # Ours: each word the start of a word, all of them; Datasette's raw FTS5 says it so.
            words = " ".join(f'"{w}"*' for w in value.split())
            out += [("_search", words), ("_searchmode", "raw")]
        elif key == "_cursor":
            if ("_sort", "montant") in params:
                out.append(("_next", f"{tilde_encode(str(deep.value))},{deep.sorted_row - 1}"))
            else:
                out.append(("_next", str(deep.row - 1)))
        else:
            out.append((key, value))
    return out


def datasette_side(base: str, deep: Deep) -> Side:
    def url(params: Params) -> tuple[str, Params]:
        return "/subventions/subventions.json", datasette_params(params, deep)

    def check(params: Params, body: dict[str, Any]) -> Any:
        assert body["rows"], params
        return body.get("filtered_table_rows_count")  # None with _nocount

    return Side("Datasette", base, url, check)


# --- report -------------------------------------------------------------------------------


def verdicts(figures: dict[str, Any], table: list[Kind]) -> None:
    """Issue 19's targets: every kind at least as fast as Datasette at p95 alone and in
    requests/s at 8 clients; and issue 4's, pages p95 < 50 ms, counts < 100 ms."""
    slower = []
    for kind in table:
        ours, theirs = (figures["kinds"][kind.name][side] for side in ("ours", "Datasette"))
        if ours["p95_ms"] > theirs["p95_ms"]:
            slower.append(f"{kind.name} p95 {ours['p95_ms']:.1f} > {theirs['p95_ms']:.1f} ms")
        if ours["requests_per_second"] < theirs["requests_per_second"]:
            slower.append(
                f"{kind.name} {ours['requests_per_second']:.1f} < "
                f"{theirs['requests_per_second']:.1f} req/s"
            )
    print(
        "at least as fast as Datasette: "
        + ("met" if not slower else "NOT met: " + "; ".join(slower))
    )
    for label, target in (("pages", PAGE_TARGET), ("counts", COUNT_TARGET)):
        worst = max(figures["kinds"][k.name]["ours"]["p95_ms"] for k in table if k.target == target)
        verdict = "met" if worst < target * 1000 else "NOT met"
        print(f"{label} p95 < {target * 1000:.0f} ms: {verdict} (worst {worst:.1f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=5)
    parser.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results: list[dict[str, Any]] = []
    print(f"load average at start: {load_average()}")
    with tempfile.TemporaryDirectory(prefix="bench-rows-") as tmp:
        folder = Path(tmp)
        source = folder / "subventions.csv"
        started = time.perf_counter()
        write(source, args.rows)
        print(
            f"file: {args.rows:,} rows, {source.stat().st_size / 2**20:.0f} MiB, "
            f"written in {time.perf_counter() - started:.1f} s"
        )
        plain = folder / "subventions.db"
        seconds = load_plain_sqlite(plain, source)
        print(f"Datasette: plain SQLite table loaded with sqlite3 in {seconds:.1f} s")
        legs = [] if args.sqlite_only else [("PostgreSQL", postgres_database)]

        @contextmanager
        def sqlite_file() -> Iterator[str]:
            yield f"sqlite+aiosqlite:///{folder}/catalog.db"

        legs.append(("SQLite", sqlite_file))
        with datasette(plain) as theirs:
            for name, database in legs:
                with database() as url:
                    version_id, seconds = asyncio.run(
                        load(
                            url, source, source.stat().st_size, folder / f"store-{name}", args.rows
                        )
                    )
                    print(
                        f"{name}: loaded by RowLoader in {seconds:.1f} s "
                        f"({args.rows / seconds:,.0f} rows/s: download, typed inserts, an index per "
                        "column, statistics)"
                    )
                    # On SQLite the rows are in catalog-rows/, beside catalog.db.
                    rows_dir = folder / "catalog-rows" if name == "SQLite" else None
                    with catalog_server(url, folder / name, rows_dir) as ours:
                        table = kinds(args.rows)
                        deep = find_deep(name, ours, version_id, args.rows, table)
                        figures = interleaved(
                            [our_side(ours, version_id), datasette_side(theirs, deep)],
                            [ServedKind(k.name, k.params) for k in table],
                            rounds=args.rounds,
                            requests=args.requests,
                        )
                figures.pop("answers")
                figures.update(
                    engine=name,
                    rows=args.rows,
                    load_rows_per_second=args.rows / seconds,
                    walk_rows_per_second={"file": deep.walk_rate, "montant": deep.sorted_walk_rate},
                )
                print(f"\n== {args.rows:,} rows, ours on {name}, Datasette on SQLite ==")
                report(figures, "Datasette")
                verdicts(figures, table)
                results.append(figures)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
