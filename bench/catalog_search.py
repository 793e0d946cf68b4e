"""Dataset search over HTTP at territorial scale, beside Datasette with FTS5 and the same facets.

For each size (``--datasets 10000 100000 1000000``), writes the same catalogue (fixed seed) into
a fresh database of ours — each dataset's search words and facet values written as
``search.reindex`` writes them at revision 0026, then the search counts and title words built by
migrations 0027–0028, as on a catalogue that upgrades — and
into a plain SQLite table with an FTS5 index over the same words, one index per facet column,
for Datasette. The catalogue is made to be searched as a territory's is: 600 organizations of
Zipf-like sizes with commune names, 15 subjects with their national schema where there is one,
seven themes, three licences, three formats, descriptions of a few sentences.

Then serves both — our catalog service (``python -m datacommune.catalog``) and Datasette 0.65
(``pip install -e '.[bench]'``; immutable, counts from ``datasette inspect``, facet and SQL time
limits raised so that every facet is counted, as ours are) — and times the same searches on
both over HTTP, interleaved (``serving.interleaved``): alone (p50/p95) and at 8 clients
(requests/s). Every request asks the total and the five facets (organization, theme, licence,
schema, format); the totals and the theme counts of the two sides must agree or the bench stops.
Datasette's text search is not ranked (rowid order); ours is, by relevance.

Kinds: one word; two words; one word and a theme; a theme and an organization; a licence
alone (~15 % of the catalogue); the whole catalogue (no words, no filter).

Targets (issue 19): p95 < 20 ms for text + facets at every size on PostgreSQL (SQLite < 40 ms),
growth from 10,000 to 1,000,000 under 1.5×, at least 3× Datasette's requests/s at 8 clients.

    .venv/bin/python bench/catalog_search.py [--datasets 10000 100000] [--engines postgresql sqlite]
        [--rounds 3] [--requests 10] [--json FILE]
"""

import argparse
import asyncio
import json
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import column, insert, table
from sqlalchemy import text as sql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from serving import (  # noqa: E402
    Kind,
    Params,
    Side,
    catalog_server,
    datasette_server,
    interleaved,
    load_average,
    report,
)

from datacommune.catalog.search import words  # noqa: E402
from datacommune.catalog.tables import (  # noqa: E402
    Dataset,
    DatasetFacet,
    Organization,
    Resource,
    Version,
)
from datacommune.shared.db import make_engine  # noqa: E402
from datacommune.shared.process.migrations import alembic_config, upgrade  # noqa: E402
from datacommune.shared.settings import DatabaseSettings  # noqa: E402
from tests import servers  # noqa: E402

MIGRATIONS = ROOT / "services/catalog/src/datacommune/catalog/migrations"
# Subject, its national schema (None: no schema), its theme.
SUBJECTS = [
    ("Subventions aux associations", "scdl-subventions@2.1.1", "ECON"),
    ("Délibérations du conseil municipal", "scdl-deliberations@2.1.5", "GOVE"),
    ("Budget primitif", "scdl-budget@0.8.3", "ECON"),
    ("Compte administratif", "scdl-budget@0.8.3", "ECON"),
    ("Marchés publics", "scdl-marches-publics@2.1.0", "ECON"),
    ("Équipements sportifs", "scdl-equipements@0.1.0", "SOCI"),
    ("Prénoms des nouveau-nés", "scdl-prenoms@1.1.0", "SOCI"),
    ("Bornes de recharge", "etalab-irve@2.3.1", "TRAN"),
    ("Lieux de covoiturage", "etalab-covoiturage@0.2.2", "TRAN"),
    ("Horaires des déchèteries", None, "ENVI"),
    ("Menus des cantines", None, "EDUC"),
    ("Arbres d'alignement", None, "ENVI"),
    ("Parkings vélos", None, "TRAN"),
    ("Toilettes publiques", None, "REGI"),
    ("Défibrillateurs", "etalab-dae@0.2.0", "SOCI"),
]
THEMES = ["GOVE", "ECON", "SOCI", "TRAN", "ENVI", "EDUC", "REGI"]
LICENCES = [("etalab-2.0", 80), ("odbl-1.0", 15), ("cc-by-4.0", 5)]
FORMATS = [("text/csv", "csv", 70), ("application/json", "json", 10)]
FORMATS.append(("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", 20))
SENTENCES = [
    "Données mises à jour chaque mois par les services de la collectivité.",
    "Fichier extrait du logiciel de gestion, publié selon le schéma national.",
    "Les montants sont exprimés en euros, toutes taxes comprises.",
    "Voir aussi le portail départemental pour les années précédentes.",
    "Les coordonnées sont en WGS 84, relevées sur le terrain.",
    "Jeu de données publié dans le cadre de l'ouverture des données publiques.",
]
FIRST = ["Saint", "Castel", "Mont", "Ville", "Roque", "Lavaur", "Bel", "Font", "Puy", "Sainte"]
SECOND = ["martin", "nau", "ferrand", "franche", "fort", "bonne", "vieille", "neuve", "longue"]
THIRD = ["", "-sur-Garonne", "-de-Lauragais", "-en-Comminges", "-le-Vieux", "-d'Aran", "-les-Bains"]
# Searched words: subjects' words, begun or whole, and a place.
WORDS = ["subvention", "délibérations", "budget", "vélo", "cantine", "recharge", "sport", "castel"]
PAIRS = ["budget primitif", "bornes recharge", "subventions associations", "arbres mont"]
FACET_PARAMS = ["organization", "theme", "licence", "schema", "format"]


@dataclass
class Entry:
    """One dataset of the made-up catalogue, as both sides store it."""

    n: int
    organization: str
    organization_name: str
    title: str
    description: str
    theme: str
    licence: str
    schema: str | None
    media_type: str
    format: str
    updated: datetime
    text: str


def organizations(count: int) -> list[tuple[str, str]]:
    """(slug, name) of ``count`` organizations with commune names."""
    names = [f"{a}{b}{c}" for c in THIRD for a in FIRST for b in SECOND]
    names = sorted(set(names))
    return [
        (f"commune-{i}", f"{names[i % len(names)]} {i // len(names) or ''}".strip())
        for i in range(count)
    ]


@cache
def _words(text: str) -> str:
    return " ".join(words(text))


def catalogue(count: int, orgs: list[tuple[str, str]]) -> Iterator[Entry]:
    """The catalogue's datasets in order; the same for the same arguments."""
    rng = random.Random(7)
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(orgs))]
    now = datetime(2026, 12, 1, tzinfo=UTC)
    picks = rng.choices(range(len(orgs)), weights, k=count)
    for n, pick in enumerate(picks):
        slug, name = orgs[pick]
        subject, schema, theme = rng.choice(SUBJECTS)
        if rng.random() < 0.2:
            theme = rng.choice(THEMES)
        year = 2015 + rng.randrange(11)
        title = f"{subject} {year} — {name}"
        sentences = rng.sample(SENTENCES, 2)
        description = f"{subject} de {name}. " + " ".join(sentences)
        media_type, fmt, _ = rng.choices(FORMATS, [w for *_, w in FORMATS])[0]
        licence = rng.choices([lic for lic, _ in LICENCES], [w for _, w in LICENCES])[0]
        # What search.document makes of it: title, slug, description, organization, schema.
        text = " ".join(
            part
            for part in (
                _words(subject),
                _words(str(year)),
                _words(name),
                _words(f"jeu {n}"),
                # The description's words, part by part (words are stemmed one by one).
                _words(subject),
                _words("de"),
                _words(name),
                *map(_words, sentences),
                _words(name),
                _words(schema.split("@")[0].replace("-", " ")) if schema else "",
            )
            if part
        )
        yield Entry(
            n,
            slug,
            name,
            title,
            description,
            theme,
            licence,
            schema,
            media_type,
            fmt,
            now - timedelta(minutes=n),
            text,
        )


# --- ours -------------------------------------------------------------------------------


async def seed_ours(url: str, count: int, orgs: list[tuple[str, str]]) -> None:
    """The catalogue as the catalog keeps it once every dataset is indexed: the datasets and
    their facet values written at revision 0026, then the search counts built from them by
    migration 0027, as on a catalogue that upgrades."""
    await asyncio.to_thread(command.upgrade, alembic_config(MIGRATIONS, url), "0026")
    engine = make_engine(DatabaseSettings(url=url))
    now = datetime.now(UTC)
    entries = catalogue(count, orgs)
    async with engine.begin() as conn:
        await conn.execute(
            insert(Organization),
            [
                {
                    "slug": slug,
                    "name": name,
                    "kind": "commune",
                    "token_hash": f"{i:064d}",
                    "created_at": now,
                    "parent": None,
                }
                for i, (slug, name) in enumerate(orgs)
            ],
        )
    while chunk := [e for _, e in zip(range(5000), entries, strict=False)]:
        rows, resources, versions, fts, facets = [], [], [], [], []
        for e in chunk:
            dataset_id, resource_id = uuid.uuid4(), uuid.uuid4()
            values = {
                ("organization", e.organization),
                ("licence", e.licence),
                ("theme", e.theme),
                ("format", e.format),
            }
            if e.schema:
                values.add(("schema", e.schema))
            rows.append(
                {
                    "id": dataset_id,
                    "slug": f"jeu-{e.n}",
                    "organization": e.organization,
                    "title": e.title,
                    "description": e.description,
                    "keywords": [],
                    "theme": e.theme,
                    "licence": e.licence,
                    "search_text": e.text,
                    "facet_values": "\n".join(
                        f"{f}={v}" for f, v in sorted(values) if f in ("schema", "format")
                    ),
                    "created_at": e.updated,
                    "updated_at": e.updated,
                }
            )
            resources.append(
                {
                    "id": resource_id,
                    "dataset_id": dataset_id,
                    "key": "fichier",
                    "title": "fichier",
                    "created_at": e.updated,
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
                    "filename": f"f.{e.format}",
                    "media_type": e.media_type,
                    "schema_id": e.schema,
                    "valid": True,
                    "report_key": "r",
                    "published_at": e.updated,
                }
            )
            fts.append({"dataset_id": dataset_id.hex, "search_text": e.text})
            facets += [{"facet": f, "value": v, "dataset_id": dataset_id} for f, v in values]
        async with engine.begin() as conn:
            # As the table is at revision 0026 (the models know later columns).
            known = [column(k, Dataset.__table__.c[k].type) for k in rows[0]]
            await conn.execute(table("datasets", *known).insert(), rows)
            await conn.execute(insert(Resource), resources)
            await conn.execute(insert(Version), versions)
            await conn.execute(insert(DatasetFacet), facets)
            if conn.dialect.name == "sqlite":
                await conn.execute(
                    sql(
                        "INSERT INTO datasets_fts (dataset_id, search_text) "
                        "VALUES (:dataset_id, :search_text)"
                    ),
                    fts,
                )
    started = time.perf_counter()
    await asyncio.to_thread(upgrade, MIGRATIONS, url)
    print(
        f"  migrations 0027-0028 (search counts, title words): {time.perf_counter() - started:.0f} s"
    )
    # As autovacuum leaves a live catalogue: statistics, visibility map, and on PostgreSQL the
    # GIN index's pending list merged.
    if engine.dialect.name == "postgresql":
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(sql("VACUUM ANALYZE"))
    else:
        async with engine.begin() as conn:
            await conn.execute(sql("ANALYZE"))
    await engine.dispose()


def our_url(params: Params) -> tuple[str, Params]:
    return "/api/v1/datasets", params


# Our estimated answers by request, to compare with Datasette's counts once the run is over.
ESTIMATES: dict[str, tuple[int, dict[str, int]]] = {}


def our_check(params: Params, body: dict[str, Any]) -> Any:
    assert len(body["items"]) == min(20, body["total"]), body
    themes = sorted((v["value"], v["count"]) for v in body["facets"]["theme"])
    if body["total_estimated"] or body["facets_estimated"]:
        ESTIMATES[json.dumps(params)] = (body["total"], dict(themes))
        return None
    return body["total"], themes


def estimate_errors(answers: dict[str, Any]) -> dict[str, Any]:
    """How far each estimate was from the count (Datasette's, equal to ours where both count):
    the total's relative error and the largest of the theme counts'."""
    errors = {}
    for key, (total, themes) in ESTIMATES.items():
        if key not in answers:
            continue  # asked only from 8 clients, whose answers are not kept (few --requests)
        true_total, true_themes = answers[key]
        worst = max(abs(themes.get(t, 0) - c) / c for t, c in true_themes)
        errors[key] = {"total": abs(total - true_total) / true_total, "themes": worst}
    ESTIMATES.clear()
    return errors


# --- Datasette ----------------------------------------------------------------------------


def seed_datasette(path: Path, count: int, orgs: list[tuple[str, str]]) -> None:
    """The same catalogue in one plain table, an index per facet, FTS5 over the same words."""
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE datasets (id INTEGER PRIMARY KEY, slug TEXT, title TEXT, description TEXT, "
        "organization TEXT, theme TEXT, licence TEXT, schema TEXT, format TEXT, "
        "updated_at TEXT, search_text TEXT)"
    )
    db.executemany(
        "INSERT INTO datasets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            (
                e.n + 1,
                f"jeu-{e.n}",
                e.title,
                e.description,
                e.organization,
                e.theme,
                e.licence,
                e.schema,
                e.format,
                e.updated.isoformat(),
                e.text,
            )
            for e in catalogue(count, orgs)
        ),
    )
    for name in ("organization", "theme", "licence", "schema", "format", "updated_at"):
        db.execute(f"CREATE INDEX ix_{name} ON datasets ({name})")
    db.execute(
        'CREATE VIRTUAL TABLE datasets_fts USING fts5(search_text, content="datasets", '
        'content_rowid="id")'
    )
    db.execute("INSERT INTO datasets_fts(datasets_fts) VALUES ('rebuild')")
    db.execute("ANALYZE")
    db.commit()
    db.close()


def datasette_url(params: Params) -> tuple[str, Params]:
    out: Params = [("_shape", "objects"), ("_size", "20")]
    out += [("_facet", f) for f in FACET_PARAMS]
    text = ""
    for key, value in params:
        if key == "q":
            text = value
        else:
            out.append((key, value))
    if text:
        # Ours: every word, each the start of a word; in FTS5's words, over the same tokens.
        out += [("_search", " ".join(f'"{w}"*' for w in words(text))), ("_searchmode", "raw")]
    else:
        out.append(("_sort_desc", "updated_at"))
    return "/catalogue/datasets.json", out


def datasette_check(params: Params, body: dict[str, Any]) -> Any:
    total = body["filtered_table_rows_count"]
    assert len(body["rows"]) == min(20, total), body
    if body.get("facets_timed_out"):
        raise SystemExit(f"Datasette's facets timed out: {params}")
    themes = sorted((v["value"], v["count"]) for v in body["facet_results"]["theme"]["results"])
    return total, themes


# --- the run ------------------------------------------------------------------------------


def kinds(orgs: list[tuple[str, str]]) -> list[Kind]:
    rng = random.Random(11)
    # Organizations of every size: the largest first in the Zipf draw.
    some = [orgs[i][0] for i in (0, 1, 5, 20, 100, 599 % len(orgs))]
    return [
        Kind("one word", [[("q", w)] for w in WORDS]),
        Kind("two words", [[("q", p)] for p in PAIRS]),
        Kind("word + theme", [[("q", w), ("theme", rng.choice(THEMES))] for w in WORDS]),
        Kind(
            "theme + organization",
            [[("theme", t), ("organization", o)] for t in THEMES[:3] for o in some],
        ),
        Kind("licence (~15 %)", [[("licence", "odbl-1.0")]]),
        Kind("whole catalogue", [[]]),
    ]


def measure(
    url: str, datasette: str, folder: Path, orgs: list[tuple[str, str]], args: Any
) -> dict[str, Any]:
    with catalog_server(url, folder) as ours:
        sides = [
            Side("ours", ours, our_url, our_check),
            Side("Datasette", datasette, datasette_url, datasette_check),
        ]
        return interleaved(sides, kinds(orgs), rounds=args.rounds, requests=args.requests)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--organizations", type=int, default=600)
    parser.add_argument("--engines", nargs="+", default=["postgresql", "sqlite"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    orgs = organizations(args.organizations)
    results: list[dict[str, Any]] = []
    print(f"load average at start: {load_average()}")
    for count in args.datasets:
        with tempfile.TemporaryDirectory(prefix="dc-bench-search-") as tmp:
            folder = Path(tmp)
            started = time.perf_counter()
            seed_datasette(folder / "catalogue.db", count, orgs)
            print(
                f"{count:,} datasets: Datasette's table seeded in {time.perf_counter() - started:.0f} s"
            )
            settings = {
                "suggest_facets": "off",
                "default_facet_size": "50",
                "facet_time_limit_ms": "60000",
                "sql_time_limit_ms": "60000",
            }
            with datasette_server(folder / "catalogue.db", settings) as datasette:
                for engine in args.engines:
                    if engine == "postgresql":
                        if (reason := servers.postgres_reason()) is not None:
                            print(f"postgresql skipped: {reason}")
                            continue
                        database = servers.postgres_database()
                    else:
                        database = sqlite_database(folder / "ours.db")
                    with database as url:
                        started = time.perf_counter()
                        asyncio.run(seed_ours(url, count, orgs))
                        print(
                            f"{count:,} datasets: {engine} seeded in {time.perf_counter() - started:.0f} s"
                        )
                        figures = measure(url, datasette, folder / engine, orgs, args)
                    figures.update(datasets=count, engine=engine)
                    figures["estimates"] = estimate_errors(figures.pop("answers"))
                    print(f"\n== {count:,} datasets, ours on {engine}, Datasette on SQLite ==")
                    report(figures, "Datasette")
                    for key, error in figures["estimates"].items():
                        print(
                            f"estimated {key}: total off by {error['total']:.1%}, "
                            f"theme counts by up to {error['themes']:.1%}"
                        )
                    results.append(figures)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


@contextmanager
def sqlite_database(path: Path) -> Iterator[str]:
    """A SQLite database file for ours, removed at the end (as ``servers.postgres_database``)."""
    try:
        yield f"sqlite+aiosqlite:///{path}"
    finally:
        path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
