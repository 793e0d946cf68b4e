"""Search latency on a territory-sized catalogue: 100,000 datasets across 600 organizations.

Seeds a fresh database (PostgreSQL when one answers, as in production; SQLite too with
--sqlite) through the catalog's own migrations, then times ``search.find`` — the function behind
``GET /api/v1/datasets`` — over 1,000 queries mixing French words, facet filters, and pages deep
in the cursor, and prints p50/p95 per kind. Targets (issue 4): search p95 under 50 ms.

    .venv/bin/python bench/catalog_search.py [--datasets 100000] [--queries 1000] [--sqlite]

Not measured yet: the row API (it does not exist yet) and the Datasette comparison.
"""

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy import text as sql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from datacommune.catalog import search  # noqa: E402
from datacommune.catalog.tables import (  # noqa: E402
    Dataset,
    DatasetFacet,
    Organization,
    Resource,
    Version,
)
from datacommune.shared.db import make_engine, make_sessionmaker  # noqa: E402
from datacommune.shared.process.migrations import upgrade  # noqa: E402
from datacommune.shared.settings import DatabaseSettings  # noqa: E402
from tests import servers  # noqa: E402
from tests.figures import percentile  # noqa: E402

MIGRATIONS = ROOT / "services/catalog/src/datacommune/catalog/migrations"
SUBJECTS = [
    "Subventions aux associations",
    "Délibérations du conseil municipal",
    "Budget primitif",
    "Compte administratif",
    "Marchés publics",
    "Équipements sportifs",
    "Prénoms des nouveau-nés",
    "Bornes de recharge",
    "Lieux de covoiturage",
    "Horaires des déchèteries",
    "Menus des cantines",
    "Arbres d'alignement",
    "Parkings vélos",
    "Toilettes publiques",
    "Défibrillateurs",
]
THEMES = ["GOVE", "ECON", "SOCI", "TRAN", "ENVI", "EDUC", "REGI"]
SCHEMAS = ["scdl-subventions@2.1.1", "scdl-deliberations@2.1.5", "scdl-budget@0.8.3", None]
WORDS = ["subvention", "délibérations", "budget", "vélo", "cantine", "recharge", "sport", "arbres"]


async def seed(url: str, datasets: int, organizations: int) -> None:
    await asyncio.to_thread(upgrade, MIGRATIONS, url)
    engine = make_engine(DatabaseSettings(url=url))
    rng = random.Random(7)
    now = datetime.now(UTC)
    orgs = [
        {
            "slug": f"commune-{i}",
            "name": f"Commune {i}",
            "kind": "commune",
            "token_hash": f"{i:064d}",
            "created_at": now,
            "parent": None,
        }
        for i in range(organizations)
    ]
    async with engine.begin() as conn:
        await conn.execute(insert(Organization), orgs)
        for start in range(0, datasets, 5000):
            rows, resources, versions, fts, facets = [], [], [], [], []
            for n in range(start, min(datasets, start + 5000)):
                org = orgs[rng.randrange(organizations)]
                title = f"{rng.choice(SUBJECTS)} {2015 + n % 10} — {org['name']}"
                dataset_id, resource_id = uuid.uuid4(), uuid.uuid4()
                text = " ".join(search.words(f"{title} {org['name']}"))
                updated = now - timedelta(minutes=n)
                rows.append(
                    {
                        "id": dataset_id,
                        "slug": f"jeu-{n}",
                        "organization": org["slug"],
                        "title": title,
                        "description": "",
                        "keywords": [],
                        "theme": rng.choice(THEMES),
                        "licence": "etalab-2.0",
                        "search_text": text,
                        "created_at": updated,
                        "updated_at": updated,
                    }
                )
                resources.append(
                    {
                        "id": resource_id,
                        "dataset_id": dataset_id,
                        "key": "fichier",
                        "title": "fichier",
                        "created_at": updated,
                    }
                )
                versions.append(
                    {
                        "id": uuid.uuid4(),
                        "resource_id": resource_id,
                        "number": 1,
                        "upload_id": uuid.uuid4(),
                        "object_key": "k",
                        "sha256": "0" * 64,
                        "size": 1,
                        "filename": "f.csv",
                        "media_type": "text/csv",
                        "schema_id": rng.choice(SCHEMAS),
                        "valid": True,
                        "report_key": "r",
                        "published_at": updated,
                    }
                )
                fts.append({"dataset_id": dataset_id.hex, "search_text": text})
                schema = versions[-1]["schema_id"]
                for facet, value in (
                    ("organization", org["slug"]),
                    ("licence", "etalab-2.0"),
                    ("theme", rows[-1]["theme"]),
                    ("format", "csv"),
                    *((("schema", schema),) if schema else ()),
                ):
                    facets.append({"facet": facet, "value": value, "dataset_id": dataset_id})
            await conn.execute(insert(Dataset), rows)
            await conn.execute(insert(Resource), resources)
            await conn.execute(insert(Version), versions)
            await conn.execute(insert(DatasetFacet), facets)
            if conn.dialect.name == "sqlite":
                await conn.execute(
                    sql(
                        "INSERT INTO datasets_fts (dataset_id, search_text) VALUES (:dataset_id, :search_text)"
                    ),
                    fts,
                )
    if engine.dialect.name == "postgresql":
        # As autovacuum leaves a live catalogue: statistics, visibility map, and the GIN index's
        # pending list merged (left unmerged, the planner scans every row for each word).
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(sql("VACUUM ANALYZE"))
    await engine.dispose()


async def measure(url: str, queries: int) -> dict[str, list[float]]:
    engine = make_engine(DatabaseSettings(url=url))
    sessionmaker = make_sessionmaker(engine)
    rng = random.Random(11)
    timings: dict[str, list[float]] = {
        "text": [],
        "text + facet": [],
        "facets only": [],
        "deep cursor": [],
    }
    async with sessionmaker() as session:
        cursor = None
        for n in range(queries):
            kind = list(timings)[n % 4]
            query = search.Query(limit=20)
            if kind in ("text", "text + facet"):
                query.q = rng.choice(WORDS)
            if kind in ("text + facet", "facets only"):
                query.theme = rng.choice(THEMES)
                query.organization = f"commune-{rng.randrange(600)}" if rng.random() < 0.5 else None
            if kind == "deep cursor":
                query.sort, query.cursor = "date", cursor
            started = time.perf_counter()
            found = await search.find(session, query)
            timings[kind].append(time.perf_counter() - started)
            if kind == "deep cursor":
                cursor = found.next_cursor
    await engine.dispose()
    return timings


def report(engine: str, timings: dict[str, list[float]]) -> None:
    every = [t for values in timings.values() for t in values]
    for kind, values in [*timings.items(), ("all", every)]:
        p95 = percentile(values, 0.95)
        print(
            f"{engine:<10} {kind:<14} p50 {statistics.median(values) * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms"
        )
    p95 = percentile(every, 0.95)
    print(f"{engine:<10} target search p95 < 50 ms: {'met' if p95 < 0.05 else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=100_000)
    parser.add_argument("--organizations", type=int, default=600)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--sqlite", action="store_true", help="also measure SQLite (embedded)")
    args = parser.parse_args()
    if servers.postgres_reason() is None:
        with servers.postgres_database() as url:
            started = time.perf_counter()
            asyncio.run(seed(url, args.datasets, args.organizations))
            print(
                f"postgresql: seeded {args.datasets} datasets in {time.perf_counter() - started:.0f} s"
            )
            report("postgresql", asyncio.run(measure(url, args.queries)))
    if args.sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite+aiosqlite:///{tmp}/catalog.db"
            asyncio.run(seed(url, args.datasets, args.organizations))
            report("sqlite", asyncio.run(measure(url, args.queries)))


if __name__ == "__main__":
    main()
