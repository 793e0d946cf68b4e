"""Searching datasets: the same results on SQLite and PostgreSQL, filters with facet counts,
and pages that follow a cursor, with no ceiling (the words are those of ``search.index``)."""

import base64
import json
import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeVarTuple

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    column,
    exists,
    func,
    literal_column,
    not_,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.util import ClauseAdapter

from datacommune.catalog import problems
from datacommune.catalog.access.organizations import territory_members
from datacommune.catalog.search import counts, summary
from datacommune.catalog.search.counts import facet_term
from datacommune.catalog.search.index import FACETS, FORMATS, dialect, words
from datacommune.catalog.tables import (
    Dataset,
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


@dataclass
class Results:
    """One page of results, the total, the facets, and the cursor to the next page."""

    total: int
    # The page's datasets, in order: the caller reads what it shows of them (the API's
    # summaries with Core, the HTML page's datasets with their versions: ``load``).
    ids: list[uuid.UUID]
    facets: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    next_cursor: str | None = None
    # A search too large to count is estimated (summary.py): the total, or only its facets.
    total_estimated: bool = False
    facets_estimated: bool = False


def _encode(sort: str, tier: int | None, moment: datetime, id_: uuid.UUID) -> str:
    raw = json.dumps({"s": sort, "t": tier, "v": moment.isoformat(), "id": id_.hex})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str, sort: str) -> tuple[int | None, datetime, uuid.UUID]:
    """The position a cursor holds (tier, date, id); ValueError for anything not made by
    ``_encode`` for this order."""
    padded = cursor + "=" * (-len(cursor) % 4)
    try:
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError) as exc:
        raise ValueError("not a cursor") from exc
    if not isinstance(data, dict) or data.get("s") != sort or not isinstance(data.get("id"), str):
        raise ValueError("cursor of another search")
    last_id = uuid.UUID(data["id"])
    tier, value = data.get("t"), data.get("v")
    if not isinstance(value, str) or (sort == "relevance") != (tier in (0, 1)):
        raise ValueError("bad cursor position")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("bad cursor position")
    return tier, moment, last_id


def word_condition(dialect: str, token: str) -> ColumnElement[bool]:
    """Datasets one of whose search words starts with ``token`` (a token of ``words``): a
    condition that composes with others (OR, NOT), as CKAN's Solr queries need."""
    return counts.found_by(dialect, [token])


def relevance(dialect: str, tokens: list[str]) -> tuple[Any, ColumnElement[Any]]:
    """What to outer-join (SQLite) and a score (higher is better, 0 when none matches) for
    ordering by any of ``tokens``."""
    if dialect == "postgresql":
        vector: ColumnElement[Any] = literal_column("datasets.search_vector")
        config: ColumnElement[Any] = literal_column("'simple'::regconfig")
        query = func.to_tsquery(config, " | ".join(f"{t}:*" for t in tokens))
        return None, func.ts_rank(vector, query)
    fts = table("datasets_fts", column("rowid"))
    expression = " OR ".join(f'"{t}"*' for t in tokens)
    matches = (
        select(
            fts.c.rowid.label("search_rowid"), literal_column("-bm25(datasets_fts)").label("score")
        )
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
    """Datasets matching ``query``: a page, the total and the facet counts (exact, or
    estimated and marked so: summary.py)."""
    conditions: list[ColumnElement[bool]] = []
    tokens = words(query.q)
    # The parts of the search as the counts know them (summary.py); the page reads
    # ``conditions``.
    parts: list[summary.Part] = []
    anywhere: list[ColumnElement[bool]] = []
    if tokens:
        anywhere.append(counts.found_by(dialect(session), tokens))
        parts += await summary.word_parts(session, dialect(session), tokens)

    def keep(term: str | None, condition: ColumnElement[bool]) -> None:
        conditions.append(condition)
        parts.append(summary.Part(term, condition))

    if query.organization:
        keep(
            facet_term("organization", query.organization),
            Dataset.organization == query.organization,
        )
    if query.territory:
        members = await territory_members(session, query.territory)
        keep(None, Dataset.organization.in_(members))
    if query.theme:
        keep(facet_term("theme", query.theme), Dataset.theme == query.theme)
    if query.licence:
        keep(facet_term("licence", query.licence), Dataset.licence == query.licence)
    if query.schema:
        # By exact id, or by name (every version of it): no LIKE, so `%` or `_` mean nothing.
        prefix = f"{query.schema}@"
        keep(
            facet_term("schema", query.schema) if "@" in query.schema else None,
            _with_version(
                or_(
                    Version.schema_id == query.schema,
                    func.substr(Version.schema_id, 1, len(prefix)) == prefix,
                )
            ),
        )
    if query.format:
        name = query.format.lower()
        keep(facet_term("format", name) if name in FORMATS else None, format_condition(name))

    mode = "relevance" if query.sort == "relevance" and tokens else "date"
    position = None
    if query.cursor:
        try:
            position = _decode(query.cursor, mode)
        except ValueError as exc:
            raise problems.bad_cursor() from exc
    # Relevance: the datasets found by their title first, then the others; newest first in
    # each. Each tier is read in the order of the date index, so a page stops at its last
    # dataset instead of scoring every match (a word in a tenth of the catalogue: ~10 rows
    # read per row shown, however large the catalogue).
    # (A title's words are among the dataset's: the first tier needs no other word condition,
    # and one would make PostgreSQL think it rare and gather every match.)
    tiers: list[tuple[int | None, list[ColumnElement[bool]]]] = [(None, anywhere)]
    if mode == "relevance":
        by_title = counts.found_by(dialect(session), tokens, title=True)
        tiers = [(1, [by_title]), (0, [*anywhere, not_(by_title)])]
    updated = Dataset.__table__.c.updated_at
    matching = counts.faceted().where(Dataset.public.is_(True), *anywhere, *conditions)
    summed = await summary.summarize(session, parts, matching)
    # Filters alone are estimated well (each column's own statistics): left to the planner.
    window: int | None | Literal["planner"] = "planner"
    if tokens:
        share = summed.counts.total / max(1, await summary.catalogue_size(session))
        window = window_for(share, query.limit + 1)
    found: list[tuple[uuid.UUID, datetime, int | None]] = []
    for tier, narrowed in tiers:
        if position is not None and tier is not None and position[0] is not None:
            if tier > position[0]:
                continue
        bounds: list[ColumnElement[bool]] = [Dataset.public.is_(True)]
        if position is not None and (tier is None or tier == position[0]):
            _, moment, last_id = position
            # The redundant bound lets the date index start at the cursor.
            bounds += [
                or_(updated < moment, and_(updated == moment, Dataset.id > last_id)),
                updated <= moment,
            ]
        rows = await _newest(
            session, bounds, [*conditions, *narrowed], query.limit + 1 - len(found), window
        )
        found += [(id_, moment, tier) for id_, moment in rows]
        if len(found) > query.limit:
            break
    next_cursor = None
    if len(found) > query.limit:
        last_id, moment, tier = found[query.limit - 1]
        next_cursor = _encode(mode, tier, moment, last_id)
    return Results(
        summed.counts.total,
        [id_ for id_, _, _ in found[: query.limit]],
        _ranked(summed.counts),
        next_cursor,
        total_estimated=summed.total_estimated,
        facets_estimated=summed.facets_estimated,
    )


# Where a search's page is read from. PostgreSQL's planner guesses how many datasets a search
# finds by multiplying the shares of its parts as if they were unrelated: « bornes recharge »
# (both words in 6.7 % of the catalogue, always together) estimated at 0.45 %, « vélo » in the
# ECON theme (rarely together) at 1.6 % for 0.2 %; it then gathers and sorts every match of a
# common search (25 ms at 100,000 datasets) or walks the whole date index for a rare one
# (12,000 rows read, 21 ms). The summary, computed first, knows the share: a search is read in
# date order among the ``4 × page / share`` newest datasets (its page is there; ~page / share
# rows read) while that window stays within ``WINDOW``; a rarer one (share < 4 × page / WINDOW)
# has its matches gathered through the text index, then sorted.
WINDOW = 5000


def window_for(share: float, limit: int) -> int | None:
    """How many of the newest datasets a page of ``limit`` at this ``share`` of the catalogue
    is looked for among; None: its matches are gathered instead."""
    if share <= 0:
        return None
    window = math.ceil(4 * limit / share)
    return window if window <= WINDOW else None


async def _newest(
    session: AsyncSession,
    bounds: list[ColumnElement[bool]],
    conditions: list[ColumnElement[bool]],
    limit: int,
    window: int | None | Literal["planner"],
) -> list[tuple[uuid.UUID, datetime]]:
    """The ids and dates of the ``limit`` newest datasets within ``bounds`` (public, after the
    cursor) that meet ``conditions``: among the ``window`` newest, else by gathering the
    matches; or as the planner chooses (filters alone, whose statistics it has). No dataset's
    words or description are read for a page."""
    table = Dataset.__table__
    updated = table.c.updated_at
    matching = select(table.c.id, updated).where(*bounds, *conditions)
    if window == "planner":
        planned = matching.order_by(updated.desc(), table.c.id).limit(limit)
        return [(id_, moment) for id_, moment in (await session.execute(planned)).all()]
    if window is not None:
        found = await session.execute(_among_newest(session, bounds, conditions, limit, window))
        rows = [(id_, moment) for id_, moment in found.all()]
        if len(rows) == limit:
            return rows
    # OFFSET 0 keeps the planner from ordering the search by the date index: it gathers the
    # matches by the cheapest way (the text index), then sorts them.
    matches = matching.offset(0).subquery()
    gathered = (
        select(matches.c.id, matches.c.updated_at)
        .order_by(matches.c.updated_at.desc(), matches.c.id)
        .limit(limit)
    )
    return [(id_, moment) for id_, moment in (await session.execute(gathered)).all()]


def _among_newest(
    session: AsyncSession,
    bounds: list[ColumnElement[bool]],
    conditions: list[ColumnElement[bool]],
    limit: int,
    window: int,
) -> Select[uuid.UUID, datetime]:
    table = Dataset.__table__
    columns: list[Any] = list(table.c)
    # The keys of the text conditions, which no model knows (search/counts.py).
    key = "search_vector" if dialect(session) == "postgresql" else "search_rowid"
    columns.append(literal_column(f"datasets.{key}").label(key))
    # Named as the table, so that the text conditions (``datasets.search_vector``) read it.
    newest = (
        select(*columns)
        .where(*bounds)
        .order_by(table.c.updated_at.desc(), table.c.id)
        .limit(window)
        .subquery("datasets")
    )
    adapt = ClauseAdapter(newest)
    return (
        select(newest.c.id, newest.c.updated_at)
        .where(*(adapt.traverse(c) for c in conditions))
        .order_by(newest.c.updated_at.desc(), newest.c.id)
        .limit(limit)
    )


async def load(session: AsyncSession, ids: list[uuid.UUID]) -> list[Dataset]:
    """The datasets of a page, in its order, with their public resources and versions."""
    loaded = await session.scalars(select(Dataset).where(Dataset.id.in_(ids)))
    by_id = {d.id: d for d in loaded}
    return [by_id[i] for i in ids if i in by_id]


def _ranked(found: counts.Counts) -> dict[str, list[dict[str, Any]]]:
    """Each facet's 50 most frequent values, most frequent first."""
    facets: dict[str, list[dict[str, Any]]] = {name: [] for name in FACETS}
    for facet, values in found.facets.items():
        facets.setdefault(facet, []).extend({"value": v, "count": c} for v, c in values.items())
    for listed in facets.values():
        listed.sort(key=lambda v: (-v["count"], str(v["value"])))
        del listed[50:]
    return facets
