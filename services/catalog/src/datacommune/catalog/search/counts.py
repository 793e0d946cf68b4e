"""Search counts kept ahead of the searches: for every search *term* — the whole catalogue, one
word, one facet value — how many datasets it finds and how they spread over each facet.

A search of one term (or none) is answered by reading that term's rows, whose number depends on
the facets' cardinalities and not on the number of datasets; a search of several terms learns
from them how large it is before counting anything (``query`` then counts or estimates). The
counts change in the transaction that reindexes a dataset, by +1/-1 on the rows it enters or
leaves, so they are never stale.

Terms, as stored in ``search_counts.term``: ``""`` the whole catalogue, ``w:<token>`` a search
word (a token of ``index.words``), ``f:<facet>=<value>`` a facet value. Every term has its total
(``facet = ""``). The whole catalogue and facet values also have one row per facet value their
datasets have; a word has them only once it is found in ``FULL`` datasets (its ``facet = "*"``
row says so): a rarer word is counted when searched, over at most ``FULL`` datasets, and most
words of a catalogue are rare — keeping their facets would multiply the table by six for
nothing.
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    column,
    func,
    literal,
    literal_column,
    null,
    select,
    table,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from datacommune.catalog.tables import Dataset, SearchCount
from datacommune.shared.db import upsert_all

ALL = ""
KEPT = "*"
# A word found in this many datasets has its facet counts kept.
FULL = 500
# Longer words are counted by their beginning: no one searches such a word, and the term stays
# well within an index entry. A searched word this long is not answered from the counts.
LONGEST = 100
FACETS = ("organization", "theme", "licence", "schema", "format")
Values = set[tuple[str, str]]
Row = tuple[str, str, str]


def word(token: str) -> str:
    return f"w:{token[:LONGEST]}"


def facet_term(facet: str, value: str) -> str:
    return f"f:{facet}={value}"


def found_by(
    dialect: str, tokens: list[str], *, prefix: bool = True, title: bool = False
) -> ColumnElement[bool]:
    """Datasets with every token among their search words (``prefix``: beginning one of them;
    ``title``: among their title's words): a condition that composes with others (OR, NOT)."""
    if dialect == "postgresql":
        # The stored, GIN-indexed tsvector of migration 0028, title words weighing A (not in
        # the models: PostgreSQL only).
        vector: ColumnElement[Any] = literal_column("datasets.search_vector")
        config: ColumnElement[Any] = literal_column("'simple'::regconfig")
        marks = ("*" if prefix else "") + ("A" if title else "")
        query = " & ".join(f"{t}:{marks}" if marks else t for t in tokens)
        return vector.op("@@")(func.to_tsquery(config, query))
    where = "title : " if title else ""
    star = "*" if prefix else ""
    expression = " AND ".join(f'{where}"{t}"{star}' for t in tokens)
    # By rowid (migration 0029): the matches' rowids come from the text index alone.
    fts = table("datasets_fts", column("rowid"), column("datasets_fts"))
    return literal_column("datasets.search_rowid").in_(
        select(fts.c.rowid).where(fts.c.datasets_fts.op("MATCH")(expression))
    )


@dataclass
class Counts:
    """Datasets found: how many, and how many per value of each facet."""

    total: int = 0
    facets: dict[str, dict[str, int]] = field(default_factory=dict)


Faceted = Select[str, str | None, str, str | None]


def faceted() -> Faceted:
    """What ``tally`` reads of each dataset; add the conditions of a search to it."""
    return select(Dataset.organization, Dataset.theme, Dataset.licence, Dataset.facet_values)


async def tally(session: AsyncSession, matching: Faceted) -> Counts:
    """Count the datasets of ``matching`` (``faceted()`` with conditions) and their facets, in
    one statement over those rows alone: every value is read from the dataset row itself (its
    columns and ``facet_values``). Only indexed datasets count in facets."""
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
    found = Counts(facets={name: {} for name in FACETS})
    for name, value, count in (await session.execute(union_all(*parts))).all():
        if name == "total":
            found.total = count
        elif name != "values":
            found.facets[name][value] = count
        else:
            for line in filter(None, value.split("\n")):
                facet, _, one = line.partition("=")
                found.facets[facet][one] = found.facets[facet].get(one, 0) + count
    return found


async def of(session: AsyncSession, term: str) -> tuple[Counts, bool]:
    """The counts of one term, and whether its facets are kept (all zero: no dataset has it)."""
    found, kept = Counts(), not term.startswith("w:")
    result = await session.execute(
        select(SearchCount.facet, SearchCount.value, SearchCount.count).where(
            SearchCount.term == term
        )
    )
    for facet, value, count in result.all():
        if facet == KEPT:
            kept = True
        elif facet:
            if count > 0:
                found.facets.setdefault(facet, {})[value] = count
        else:
            found.total = count
    return found, kept


async def words_beginning(session: AsyncSession, prefix: str, limit: int) -> list[tuple[str, int]]:
    """Up to ``limit`` tokens some counted dataset has that begin with ``prefix`` (a token
    of ``index.words``: letters and digits only, so the range below holds every one of them),
    each with the number of datasets that have it."""
    low = word(prefix)
    found = await session.execute(
        select(SearchCount.term, SearchCount.count)
        .where(
            SearchCount.term >= low,
            SearchCount.term < low + "\x7f",
            SearchCount.facet == "",
            SearchCount.count > 0,
        )
        .order_by(SearchCount.term)
        .limit(limit)
    )
    return [(term.removeprefix("w:"), count) for term, count in found.all()]


async def change(
    session: AsyncSession,
    before: tuple[Iterable[str], Values],
    after: tuple[Iterable[str], Values],
) -> None:
    """Move one dataset's counts from what it was indexed with ``before`` (its search tokens
    and facet values) to ``after``, in the transaction that reindexes it, after its search
    words and facet values are written (a word that reaches ``FULL`` here is counted from them).
    A dataset without facet values (not public) counts nowhere."""
    old, new = _terms(*before), _terms(*after)
    values_before = before[1] if old else set()
    values_after = after[1] if new else set()
    if old == new and values_before == values_after:
        return  # a new version that changes neither words nor facets: nothing to count
    # The totals first: their rows are locked until commit, so a writer that adds a dataset to
    # a word at the same time waits here, then sees below whether that word's facets are kept.
    # When its facet values change, every term of the dataset changes: all are locked.
    totals = Counter(dict.fromkeys(old & new if values_before != values_after else (), 0))
    totals.update(dict.fromkeys(new - old, 1))
    totals.update(dict.fromkeys(old - new, -1))
    reached = await _add(session, {(t, "", ""): c for t, c in totals.items()}, returning=True)
    reached = {t: c for t, c in reached.items() if totals[t] > 0}
    words = {t for t in old | new if t.startswith("w:")}
    kept = {t for t in old | new if not t.startswith("w:")}
    if words:
        marked = await session.scalars(
            select(SearchCount.term).where(
                SearchCount.term.in_(sorted(words)), SearchCount.facet == KEPT
            )
        )
        kept.update(marked.all())
    deltas: Counter[Row] = Counter()
    for term in old & kept:
        deltas.update(dict.fromkeys(((term, f, v) for f, v in values_before), -1))
    for term in new & kept:
        deltas.update(dict.fromkeys(((term, f, v) for f, v in values_after), 1))
    await _add(session, {row: c for row, c in deltas.items() if c})
    for term in sorted(t for t, count in reached.items() if count >= FULL and t not in kept):
        await _keep(session, term)


def _terms(tokens: Iterable[str], values: Values) -> set[str]:
    if not values:
        return set()
    return {ALL, *map(word, tokens), *(facet_term(f, v) for f, v in values)}


async def _add(
    session: AsyncSession, deltas: dict[Row, int], *, returning: bool = False
) -> dict[str, int]:
    """Add each delta to its row (made at 0 if missing), in sorted order; with ``returning``,
    each term's count after."""
    if not deltas:
        return {}
    rows = [
        {"term": t, "facet": f, "value": v, "count": c} for (t, f, v), c in sorted(deltas.items())
    ]
    result = await upsert_all(
        session,
        SearchCount,
        rows,
        keys=["term", "facet", "value"],
        update=lambda excluded: {"count": SearchCount.count + excluded.count},
        returning=(SearchCount.term, SearchCount.count) if returning else None,
    )
    return {term: count for term, count in result} if returning else {}


async def _keep(session: AsyncSession, term: str) -> None:
    """Start keeping a word's facets: count them once over its datasets (this transaction's
    changes included), then mark the word kept."""
    token = term.removeprefix("w:")
    dialect = session.get_bind().dialect.name
    condition = found_by(dialect, [token], prefix=len(token) == LONGEST)
    found = await tally(
        session,
        faceted().where(Dataset.public.is_(True), Dataset.facet_values.is_not(None), condition),
    )
    rows = {(term, KEPT, ""): 1}
    for facet, values in found.facets.items():
        rows.update({(term, facet, value): count for value, count in values.items()})
    await _add(session, rows)
