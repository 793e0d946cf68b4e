"""package_search as CKAN answers it: Solr's ``q``/``fq`` (see ``solr``), its sort fields,
offsets, and facet counts over what matched."""

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, literal, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from datacommune.catalog import search
from datacommune.catalog.interop import solr
from datacommune.catalog.tables import Dataset


@dataclass
class Found:
    count: int
    datasets: list[Dataset]
    # Per facet field, (value, count) from the most frequent.
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


def keyword_condition(dialect: str) -> Any:
    """``tags:x``: datasets with the keyword ``x`` (case apart), read from their JSON list."""
    elements = "json_array_elements_text" if dialect == "postgresql" else "json_each"

    def condition(value: str) -> ColumnElement[bool]:
        keywords = getattr(func, elements)(Dataset.keywords).table_valued("value")
        return exists(
            select(literal(1))
            .select_from(keywords)
            .where(func.lower(keywords.c.value) == value.lower())
        )

    return condition


SORTS = {
    "metadata_modified": Dataset.updated_at,
    "metadata_created": Dataset.created_at,
    "id": Dataset.id,
    "name": Dataset.slug,
    "title_string": Dataset.title,
}


def order(sort: str, score: ColumnElement[Any] | None) -> list[ColumnElement[Any]]:
    """``metadata_modified desc, name asc``… as SQL; ``score`` is 0 when no word was searched."""
    clauses: list[ColumnElement[Any]] = []
    for part in filter(None, (p.strip() for p in sort.split(","))):
        name, _, direction = part.partition(" ")
        direction = direction.strip().lower() or "asc"
        column = score if name == "score" else SORTS.get(name)
        if name == "score" and column is None:
            continue  # nothing searched by words: every score is equal
        if column is None or direction not in ("asc", "desc"):
            fields = ", ".join(["score", *SORTS])
            raise solr.QueryError(f"Cannot sort by {part!r}; sort by {fields} (asc or desc)")
        clauses.append(column.desc() if direction == "desc" else column.asc())
    # Ties in a stable order, so that pages by offset neither repeat nor skip.
    return [*clauses, Dataset.id.asc()]


async def find(
    session: AsyncSession,
    queries: list[str],
    *,
    sort: str,
    rows: int,
    start: int,
    facets: list[str],
) -> Found:
    """The page of public datasets matching every query, their count, and facet counts."""
    unknown = [f for f in facets if f not in solr.FACET_FIELDS]
    if unknown:
        raise solr.QueryError(
            f"Cannot facet on {', '.join(unknown)}; facets: {', '.join(solr.FACET_FIELDS)}"
        )
    dialect = search.index.dialect(session)
    condition, words = solr.translate(queries, dialect, keyword_condition(dialect))
    matching = (Dataset.public.is_(True), condition)
    total = await session.scalar(select(func.count()).select_from(Dataset).where(*matching))
    datasets: list[Dataset] = []
    if rows:
        statement: Select[Any] = select(Dataset).where(*matching)
        score = None
        if words and "score" in sort:
            joined, score = search.relevance(dialect, words)
            if joined is not None:
                statement = statement.outerjoin(
                    joined, joined.c.search_rowid == literal_column("datasets.search_rowid")
                )
        statement = statement.order_by(*order(sort, score)).offset(start).limit(rows)
        datasets = list((await session.scalars(statement)).all())
    else:
        order(sort, None)  # a bad sort is an error even when no row is asked for
    found = Found(int(total or 0), datasets)
    if facets:
        found.facets = await _facets(session, matching, facets)
    return found


async def _facets(
    session: AsyncSession, matching: tuple[Any, ...], fields: list[str]
) -> dict[str, list[tuple[str, int]]]:
    """Each facet's values over the matching datasets, read from their own rows."""
    counts = {f: Counter[str]() for f in fields}
    columns = (Dataset.organization, Dataset.licence, Dataset.theme, Dataset.keywords)
    rows = await session.execute(select(*columns, Dataset.facet_values).where(*matching))
    for organization, licence, theme, keywords, values in rows:
        found = {
            "organization": [organization],
            "license_id": [licence],
            "groups": [theme] if theme else [],
            "tags": keywords or [],
            "res_format": [
                line.partition("=")[2].upper()
                for line in (values or "").split("\n")
                if line.startswith("format=")
            ],
        }
        for name in fields:
            counts[name].update(set(found[name]))
    return {name: counts[name].most_common() for name in fields}
