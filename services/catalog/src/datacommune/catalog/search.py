"""French full-text search over datasets, the same results on SQLite and PostgreSQL.

Words are stemmed with Snowball's French stemmer and stripped of accents in Python, for the
documents and the queries alike, so « délibération » finds « deliberations » and both engines
see the same tokens: SQLite indexes them with FTS5, PostgreSQL with a GIN index over a
``simple`` tsvector. Filters come with facet counts; pages follow a cursor, with no ceiling.
"""

import base64
import json
import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import snowballstemmer
from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    column,
    delete,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession

from datacommune.catalog.tables import Dataset, DatasetFacet, Organization, Resource, Version

_STEMMER = snowballstemmer.stemmer("french")
FORMATS = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "json": "application/json",
}
LABELS = {media_type: name for name, media_type in FORMATS.items()}
FACETS = ("organization", "theme", "licence", "schema", "format")


def _unaccent(word: str) -> str:
    return unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode()


def _dialect(session: AsyncSession) -> str:
    bind = session.get_bind()
    return str(bind.dialect.name)


def words(text_: str) -> list[str]:
    """The search tokens of a text: lower-case, stemmed in French, without accents."""
    tokens = re.findall(r"\w+", text_.lower())
    # Stripping accents can leave punctuation (« ⑴ » → « (1) »): keep letters and digits only,
    # so that no engine ever sees query syntax.
    return [
        piece
        for stem in _STEMMER.stemWords(tokens)
        for piece in re.findall(r"[a-z0-9]+", _unaccent(stem).lower())
        if len(piece) > 1
    ]


def document(dataset: Dataset, organization_name: str, schemas: list[str]) -> str:
    """What a dataset is found by: its words, its organization's name, its schemas."""
    parts = [
        dataset.title,
        dataset.slug.replace("-", " "),
        dataset.description or "",
        " ".join(dataset.keywords or []),
        organization_name,
        " ".join(s.split("@")[0].replace("-", " ") for s in schemas),
    ]
    return " ".join(words(" ".join(parts)))


async def reindex(session: AsyncSession, dataset: Dataset) -> None:
    """Recompute a dataset's search text (and its FTS5 row on SQLite) in this transaction."""
    org_name = await session.scalar(
        select(Organization.name).where(Organization.slug == dataset.organization)
    )
    schemas = list(
        (
            await session.scalars(
                select(Version.schema_id)
                .join(Resource, Resource.id == Version.resource_id)
                .where(Resource.dataset_id == dataset.id, Version.schema_id.is_not(None))
                .distinct()
            )
        ).all()
    )
    dataset.search_text = document(dataset, org_name or "", [s for s in schemas if s])
    formats = (
        await session.scalars(
            select(Version.media_type)
            .join(Resource, Resource.id == Version.resource_id)
            .where(Resource.dataset_id == dataset.id)
            .distinct()
        )
    ).all()
    values = {
        ("organization", dataset.organization),
        ("licence", dataset.licence),
        *({("theme", dataset.theme)} if dataset.theme else set()),
        *{("schema", s) for s in schemas if s},
        *{("format", LABELS.get(f, f)) for f in formats},
    }
    await session.execute(delete(DatasetFacet).where(DatasetFacet.dataset_id == dataset.id))
    session.add_all(DatasetFacet(facet=f, value=v, dataset_id=dataset.id) for f, v in values)
    if _dialect(session) == "sqlite":
        await session.execute(
            text("DELETE FROM datasets_fts WHERE dataset_id = :id"), {"id": dataset.id.hex}
        )
        await session.execute(
            text("INSERT INTO datasets_fts (dataset_id, search_text) VALUES (:id, :text)"),
            {"id": dataset.id.hex, "text": dataset.search_text},
        )


@dataclass
class Query:
    """A search: words, filters, order, and where the previous page stopped."""

    q: str = ""
    organization: str | None = None
    territory: str | None = None
    schema: str | None = None
    theme: str | None = None
    licence: str | None = None
    format: str | None = None
    sort: str = "relevance"
    cursor: str | None = None
    limit: int = 20
    # For clients that only know offsets (CKAN's package_search); the cursor has no ceiling.
    offset: int = 0


@dataclass
class Results:
    """One page of results, the exact total, the facets, and the cursor to the next page."""

    total: int
    items: list[Dataset]
    facets: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    next_cursor: str | None = None


def _encode(sort: str, value: Any, id_: uuid.UUID) -> str:
    raw = json.dumps(
        {
            "s": sort,
            "v": value.isoformat() if isinstance(value, datetime) else float(value),
            "id": id_.hex,
        }
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str, sort: str) -> tuple[Any, uuid.UUID]:
    """The position a cursor holds; ValueError for anything not made by ``_encode``."""
    padded = cursor + "=" * (-len(cursor) % 4)
    try:
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError) as exc:
        raise ValueError("not a cursor") from exc
    if not isinstance(data, dict) or data.get("s") != sort or not isinstance(data.get("id"), str):
        raise ValueError("cursor of another search")
    last_id = uuid.UUID(data["id"])
    value = data.get("v")
    if sort == "date":
        if not isinstance(value, str):
            raise ValueError("bad cursor position")
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError("bad cursor position")
        return moment, last_id
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ValueError("bad cursor position")
    return float(value), last_id


def _fts(dialect: str, tokens: list[str]) -> tuple[Any, ColumnElement[bool], ColumnElement[Any]]:
    """What to join (SQLite's FTS5 matches), the condition, and the score (higher is better)."""
    if dialect == "postgresql":
        # The stored, GIN-indexed tsvector of migration 0007 (not in the models: PostgreSQL only).
        config: ColumnElement[Any] = literal_column("'simple'::regconfig")
        vector: ColumnElement[Any] = literal_column("datasets.search_vector")
        query = func.to_tsquery(config, " & ".join(f"{t}:*" for t in tokens))
        return None, vector.op("@@")(query), func.ts_rank(vector, query)
    expression = " AND ".join(f'"{t}"*' for t in tokens)
    fts = table("datasets_fts", column("dataset_id"))
    matches = (
        select(fts.c.dataset_id, literal_column("-bm25(datasets_fts)").label("score"))
        .where(text("datasets_fts MATCH :expr").bindparams(expr=expression))
        .subquery("fts")
    )
    return matches, literal(True), matches.c.score


async def territory_members(session: AsyncSession, slug: str) -> set[str]:
    """An organization and every organization under it (commune → EPCI → département)."""
    parents = dict((await session.execute(select(Organization.slug, Organization.parent))).all())
    inside = {slug}
    changed = True
    while changed:
        changed = False
        for child, parent in parents.items():
            if parent in inside and child not in inside:
                inside.add(child)
                changed = True
    return inside


def _with_version(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists(
        select(Version.id)
        .join(Resource, Resource.id == Version.resource_id)
        .where(Resource.dataset_id == Dataset.id, condition)
    )


async def find(session: AsyncSession, query: Query) -> Results:
    """Datasets matching ``query``: a page, the exact total and the facet counts."""
    conditions: list[ColumnElement[bool]] = []
    score: ColumnElement[Any] = literal(0.0)
    matches = None
    tokens = words(query.q)
    if tokens:
        matches, condition, score = _fts(_dialect(session), tokens)
        conditions.append(condition)
    if query.organization:
        conditions.append(Dataset.organization == query.organization)
    if query.territory:
        conditions.append(
            Dataset.organization.in_(await territory_members(session, query.territory))
        )
    if query.theme:
        conditions.append(Dataset.theme == query.theme)
    if query.licence:
        conditions.append(Dataset.licence == query.licence)
    if query.schema:
        # By exact id, or by name (every version of it): no LIKE, so `%` or `_` mean nothing.
        prefix = f"{query.schema}@"
        conditions.append(
            _with_version(
                or_(
                    Version.schema_id == query.schema,
                    func.substr(Version.schema_id, 1, len(prefix)) == prefix,
                )
            )
        )
    if query.format:
        conditions.append(_with_version(Version.media_type == FORMATS.get(query.format, "")))

    def scoped(statement: Select[Any]) -> Select[Any]:
        if matches is not None:
            statement = statement.join(matches, matches.c.dataset_id == Dataset.id)
        return statement.where(*conditions)

    total = await session.scalar(scoped(select(func.count()).select_from(Dataset))) or 0
    by_relevance = query.sort == "relevance" and bool(tokens)
    key: ColumnElement[Any] = score if by_relevance else Dataset.__table__.c.updated_at
    page = scoped(select(Dataset, key.label("key")))
    mode = "relevance" if by_relevance else "date"
    if query.cursor:
        value, last_id = _decode(query.cursor, mode)
        page = page.where(or_(key < value, and_(key == value, Dataset.id > last_id)))
    ordered = page.order_by(key.desc(), Dataset.id)
    if query.offset and not query.cursor:
        ordered = ordered.offset(query.offset)
    rows = (await session.execute(ordered.limit(query.limit + 1))).all()
    items = [row[0] for row in rows[: query.limit]]
    next_cursor = None
    if len(rows) > query.limit:
        last = rows[query.limit - 1]
        next_cursor = _encode(mode, last[1], last[0].id)
    matching = scoped(select(Dataset.id)) if conditions or matches is not None else None
    return Results(total, items, await _facets(session, matching), next_cursor)


async def _facets(
    session: AsyncSession, matching: Select[Any] | None
) -> dict[str, list[dict[str, Any]]]:
    """Counts per value of each facet over the matching datasets, in one indexed GROUP BY
    (no condition at all when every dataset matches)."""
    query = select(DatasetFacet.facet, DatasetFacet.value, func.count()).group_by(
        DatasetFacet.facet, DatasetFacet.value
    )
    if matching is not None:
        query = query.where(DatasetFacet.dataset_id.in_(matching))
    facets: dict[str, list[dict[str, Any]]] = {name: [] for name in FACETS}
    for facet, value, count in (await session.execute(query)).all():
        facets.setdefault(facet, []).append({"value": value, "count": count})
    for values in facets.values():
        values.sort(key=lambda v: (-v["count"], str(v["value"])))
        del values[50:]
    return facets


async def reindex_stale(sessionmaker: Any, batch: int = 500) -> int:
    """Index the datasets no search text covers yet (e.g. published before the index existed)."""
    done = 0
    while True:
        async with sessionmaker.begin() as session:
            stale = list(
                (
                    await session.scalars(
                        select(Dataset).where(Dataset.search_text == "").limit(batch)
                    )
                ).all()
            )
            for dataset in stale:
                await reindex(session, dataset)
                if not dataset.search_text:
                    dataset.search_text = " "  # nothing to index: do not look at it again
        done += len(stale)
        if len(stale) < batch:
            return done
