"""A search's total and facet counts, at a cost that does not grow with the catalogue.

A search is a conjunction of *parts* (each word, each filter). Each part that is one counted
term (search/counts.py) is known before anything is counted: a search of one such part is read
from its rows; a search of several is counted over its matches when the smallest part finds at
most ``EXACT`` datasets (a bounded count); otherwise it is estimated from the ``SAMPLE`` newest
datasets of its smallest part, the estimate marked as such — except that the total of a word
or filter with one facet filter is exact, read from the first one's facet counts.

A word begun that several words continue (« castel »: Castelginest, Castelmaurou,
Castelnau…) is no one term; up to ``CONTINUED`` words, it is bounded by the sum of their
counts (a dataset with two of them counted twice) and, beyond ``EXACT``, estimated as a part
of that size.
"""

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from datacommune.catalog.search import counts
from datacommune.catalog.tables import Dataset, SearchCount

EXACT = 2000
# A word begun that more words than this continue is not bounded: counted over its matches.
CONTINUED = 64
# Each sampled dataset costs the reads of its row and of the rows the smallest part skips.
SAMPLE = 200


@dataclass
class Part:
    """One part of a search: the counted term it is (None: no term answers it, e.g. a word
    begun that several words continue) and the datasets it keeps, as a plain condition."""

    term: str | None
    condition: ColumnElement[bool]
    # At most this many datasets, where no term says exactly how many (None: not known).
    bound: int | None = None


@dataclass
class Summary:
    counts: counts.Counts
    total_estimated: bool = False
    facets_estimated: bool = False


async def word_parts(session: AsyncSession, dialect: str, tokens: list[str]) -> list[Part]:
    """Each searched word (a beginning of words, as searches read them) as a part."""
    parts = []
    for token in tokens:
        part = Part(None, counts.found_by(dialect, [token]))
        if len(token) < counts.LONGEST:
            continuing = await counts.words_beginning(session, token, limit=CONTINUED + 1)
            if len(continuing) <= 1:
                # No word continues it: a term no dataset has, so nothing is found.
                part.term = counts.word(continuing[0][0] if continuing else token)
            elif len(continuing) <= CONTINUED:
                part.bound = sum(count for _, count in continuing)
        parts.append(part)
    return parts


async def summarize(session: AsyncSession, parts: list[Part], matching: counts.Faceted) -> Summary:
    """The total and facets of the datasets all ``parts`` keep; ``matching`` is
    ``counts.faceted()`` scoped to them, for when they are counted."""
    if not parts:
        found, _ = await counts.of(session, counts.ALL)
        return Summary(found)
    if len(parts) == 1 and parts[0].term is not None:
        found, kept = await counts.of(session, parts[0].term)
        # Not kept: a word in fewer than counts.FULL datasets, counted here.
        return Summary(found if kept else await counts.tally(session, matching))
    totals = await _totals(session, [p.term for p in parts if p.term is not None])
    sizes = {
        id(p): totals.get(p.term, 0) if p.term is not None else p.bound
        for p in parts
        if p.term is not None or p.bound is not None
    }
    if not sizes:
        # Nothing bounds it: counted (the one case whose cost grows with its matches).
        return Summary(await counts.tally(session, matching))
    smallest = min((p for p in parts if id(p) in sizes), key=lambda p: sizes[id(p)] or 0)
    size = sizes[id(smallest)] or 0
    exact = await _pair_total(session, parts) if size > EXACT else None
    if size <= EXACT or (exact is not None and exact <= EXACT):
        return Summary(await counts.tally(session, matching))
    # One pass over the SAMPLE newest datasets of the smallest part, each marked with whether
    # the other parts keep it too (no second look-up per dataset). Read in the order of the
    # date index, it stops after SAMPLE of them (a part in a tenth of the catalogue: ~10 rows
    # read per row sampled) instead of gathering every match first.
    others = [p.condition for p in parts if p is not smallest]
    sample = (
        counts.faceted()
        .add_columns((and_(*others) if others else true()).label("hit"))
        .where(Dataset.public.is_(True), smallest.condition)
        .order_by(Dataset.updated_at.desc())
        .limit(SAMPLE)
        .subquery("sample")
    )
    found = await counts.tally(
        session,
        select(
            sample.c.organization, sample.c.theme, sample.c.licence, sample.c.facet_values
        ).where(sample.c.hit),
    )
    drawn = min(SAMPLE, size)
    if smallest.term is None:
        # Its size is only a bound: fewer drawn than asked means every match of it was, so
        # the sample's counts are exact.
        drawn = found.total
        if others:
            drawn = await session.scalar(select(func.count()).select_from(sample)) or 0
        if drawn < SAMPLE:
            return Summary(found)
    total = exact if exact is not None else round(found.total * size / drawn)
    scale = total / found.total if found.total else 0.0
    facets = {
        facet: {v: n for v, c in values.items() if (n := max(1, round(c * scale)))}
        for facet, values in found.facets.items()
    }
    return Summary(counts.Counts(total, facets), exact is None, True)


async def catalogue_size(session: AsyncSession) -> int:
    """How many datasets are public (the whole catalogue's count)."""
    return (await _totals(session, [counts.ALL])).get(counts.ALL, 0)


async def _totals(session: AsyncSession, terms: list[str]) -> dict[str, int]:
    if not terms:
        return {}
    found = await session.execute(
        select(SearchCount.term, SearchCount.count).where(
            SearchCount.term.in_(sorted(set(terms))), SearchCount.facet == ""
        )
    )
    return {term: count for term, count in found.all()}


async def _pair_total(session: AsyncSession, parts: list[Part]) -> int | None:
    """The exact total of two parts of which one is a facet value and the other a term whose
    facets are kept (a word and a theme, a theme and an organization); None otherwise."""
    terms = [p.term for p in parts if p.term is not None]
    if len(parts) != 2 or len(terms) != 2:
        return None
    for one, other in (terms, terms[::-1]):
        if not one.startswith("f:"):
            continue
        facet, _, value = one.removeprefix("f:").partition("=")
        found, kept = await counts.of(session, other)
        if kept:
            return found.facets.get(facet, {}).get(value, 0)
    return None
