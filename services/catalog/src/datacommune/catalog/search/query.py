"""Searching datasets: the same results on SQLite and PostgreSQL, filters with facet counts,
and pages that follow a cursor, with no ceiling (the words are those of ``search.index``)."""

import base64
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVarTuple

from sqlalchemy import (
    ColumnElement,
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
    found: list[tuple[uuid.UUID, datetime, int | None]] = []
    for tier, narrowed in tiers:
        if position is not None and tier is not None and position[0] is not None:
            if tier > position[0]:
                continue
        # Ids and dates only: no dataset's words or description is read for a page.
        page = select(Dataset.id, updated).where(Dataset.public.is_(True), *conditions, *narrowed)
        if position is not None and (tier is None or tier == position[0]):
            _, moment, last_id = position
            # The redundant bound lets the date index start at the cursor.
            page = page.where(
                or_(updated < moment, and_(updated == moment, Dataset.id > last_id)),
                updated <= moment,
            )
        page = page.order_by(updated.desc(), Dataset.id).limit(query.limit + 1 - len(found))
        found += [(id_, moment, tier) for id_, moment in (await session.execute(page)).all()]
        if len(found) > query.limit:
            break
    next_cursor = None
    if len(found) > query.limit:
        last_id, moment, tier = found[query.limit - 1]
        next_cursor = _encode(mode, tier, moment, last_id)
    matching = counts.faceted().where(Dataset.public.is_(True), *anywhere, *conditions)
    summed = await summary.summarize(session, parts, matching)
    return Results(
        summed.counts.total,
        [id_ for id_, _, _ in found[: query.limit]],
        _ranked(summed.counts),
        next_cursor,
        total_estimated=summed.total_estimated,
        facets_estimated=summed.facets_estimated,
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
