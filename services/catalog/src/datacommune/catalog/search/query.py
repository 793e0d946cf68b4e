"""Searching datasets: the same results on SQLite and PostgreSQL, filters with facet counts,
and pages that follow a cursor, with no ceiling (the words are those of ``search.index``)."""

import base64
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVarTuple

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    column,
    exists,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    table,
    text,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from datacommune.catalog import problems
from datacommune.catalog.access.organizations import territory_members
from datacommune.catalog.search.index import FACETS, FORMATS, dialect, words
from datacommune.catalog.tables import (
    Dataset,
    FacetCount,
    RemoteResource,
    Resource,
    Version,
)

_Row = TypeVarTuple("_Row")


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


def word_condition(dialect: str, token: str) -> ColumnElement[bool]:
    """Datasets one of whose search words starts with ``token`` (a token of ``words``): a
    condition that composes with others (OR, NOT), as CKAN's Solr queries need."""
    if dialect == "postgresql":
        vector: ColumnElement[Any] = literal_column("datasets.search_vector")
        config: ColumnElement[Any] = literal_column("'simple'::regconfig")
        return vector.op("@@")(func.to_tsquery(config, f"{token}:*"))
    fts = table("datasets_fts", column("dataset_id"), column("datasets_fts"))
    return Dataset.id.in_(
        select(fts.c.dataset_id).where(fts.c.datasets_fts.op("MATCH")(f'"{token}"*'))
    )


def relevance(dialect: str, tokens: list[str]) -> tuple[Any, ColumnElement[Any]]:
    """What to outer-join (SQLite) and a score (higher is better, 0 when none matches) for
    ordering by any of ``tokens``."""
    if dialect == "postgresql":
        vector: ColumnElement[Any] = literal_column("datasets.search_vector")
        config: ColumnElement[Any] = literal_column("'simple'::regconfig")
        query = func.to_tsquery(config, " | ".join(f"{t}:*" for t in tokens))
        return None, func.ts_rank(vector, query)
    fts = table("datasets_fts", column("dataset_id"))
    expression = " OR ".join(f'"{t}"*' for t in tokens)
    matches = (
        select(fts.c.dataset_id, literal_column("-bm25(datasets_fts)").label("score"))
        .where(text("datasets_fts MATCH :expr").bindparams(expr=expression))
        .subquery("fts")
    )
    return matches, func.coalesce(matches.c.score, 0.0)


def format_condition(name: str) -> ColumnElement[bool]:
    """Datasets with a file of format ``name`` (``csv``), published here or harvested."""
    return or_(
        _with_version(Version.media_type == FORMATS.get(name.lower(), "")),
        exists(
            select(RemoteResource.id).where(
                RemoteResource.dataset_id == Dataset.id,
                RemoteResource.format == name.lower(),
            )
        ),
    )


def _with_version(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists(
        select(Version.id)
        .join(Resource, Resource.id == Version.resource_id)
        .where(Resource.dataset_id == Dataset.id, Version.public.is_(True), condition)
    )


async def find(session: AsyncSession, query: Query) -> Results:
    """Datasets matching ``query``: a page, the exact total and the facet counts."""
    conditions: list[ColumnElement[bool]] = []
    score: ColumnElement[Any] = literal(0.0)
    matches = None
    tokens = words(query.q)
    if tokens:
        matches, condition, score = _fts(dialect(session), tokens)
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
        conditions.append(format_condition(query.format))

    def scoped(statement: Select[*_Row]) -> Select[*_Row]:
        if matches is not None:
            statement = statement.join(matches, matches.c.dataset_id == Dataset.id)
        # The embargo: a dataset none of whose versions is public yet is never found.
        return statement.where(Dataset.public.is_(True), *conditions)

    by_relevance = query.sort == "relevance" and bool(tokens)
    key: ColumnElement[Any] = score if by_relevance else Dataset.__table__.c.updated_at
    page = scoped(select(Dataset, key.label("key")))
    mode = "relevance" if by_relevance else "date"
    if query.cursor:
        try:
            value, last_id = _decode(query.cursor, mode)
        except ValueError as exc:
            raise problems.bad_cursor() from exc
        after = or_(key < value, and_(key == value, Dataset.id > last_id))
        # The redundant bound lets the date index start at the cursor: deep pages stay cheap.
        page = page.where(after, key <= value) if mode == "date" else page.where(after)
    ordered = page.order_by(key.desc(), Dataset.id)
    if query.offset and not query.cursor:
        ordered = ordered.offset(query.offset)
    rows = (await session.execute(ordered.limit(query.limit + 1))).all()
    items = [row[0] for row in rows[: query.limit]]
    next_cursor = None
    if len(rows) > query.limit:
        last = rows[query.limit - 1]
        next_cursor = _encode(mode, last[1], last[0].id)
    if conditions or matches is not None:
        total, facets = await _summary(session, scoped(_FACETED))
    else:
        total = (
            await session.scalar(select(func.count()).select_from(Dataset).where(Dataset.public))
            or 0
        )
        facets = await _catalogue_facets(session)
    return Results(total, items, facets, next_cursor)


_FACETED = select(Dataset.organization, Dataset.theme, Dataset.licence, Dataset.facet_values)


async def _summary(
    session: AsyncSession, matching: Select[str, str | None, str, str | None]
) -> tuple[int, dict[str, list[dict[str, Any]]]]:
    """The total and the facet counts of a search, in one statement over the matching rows.

    Every value is read from the dataset rows themselves (their own columns and
    ``facet_values``): counting costs one pass over the matches, with no lookup per match
    in dataset_facets. Only indexed datasets count in facets, as in dataset_facets."""
    m = matching.cte("matching")
    indexed = m.c.facet_values.is_not(None)
    parts = [
        select(literal("total"), null(), func.count()).select_from(m),
        *(
            select(literal(name), m.c[name], func.count())
            .where(indexed, m.c[name].is_not(None))
            .group_by(m.c[name])
            for name in ("organization", "theme", "licence")
        ),
        select(literal("values"), m.c.facet_values, func.count())
        .where(indexed)
        .group_by(m.c.facet_values),
    ]
    counts: dict[str, dict[str, int]] = {name: {} for name in FACETS}
    total = 0
    for name, value, count in (await session.execute(union_all(*parts))).all():
        if name == "total":
            total = count
        elif name != "values":
            counts[name][value] = count
        else:
            for line in filter(None, value.split("\n")):
                facet, _, one = line.partition("=")
                counts[facet][one] = counts[facet].get(one, 0) + count
    return total, _ranked((f, v, c) for f, values in counts.items() for v, c in values.items())


async def _catalogue_facets(session: AsyncSession) -> dict[str, list[dict[str, Any]]]:
    """The facet counts of the whole catalogue, kept up to date by ``reindex``."""
    found = await session.execute(
        select(FacetCount.facet, FacetCount.value, FacetCount.count).where(FacetCount.count > 0)
    )
    return _ranked((f, v, c) for f, v, c in found.all())


def _ranked(counts: Iterable[tuple[str, str, int]]) -> dict[str, list[dict[str, Any]]]:
    """Each facet's 50 most frequent values, most frequent first."""
    facets: dict[str, list[dict[str, Any]]] = {name: [] for name in FACETS}
    for facet, value, count in counts:
        facets.setdefault(facet, []).append({"value": value, "count": count})
    for values in facets.values():
        values.sort(key=lambda v: (-v["count"], str(v["value"])))
        del values[50:]
    return facets
