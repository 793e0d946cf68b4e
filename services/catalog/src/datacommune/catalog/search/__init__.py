"""French full-text search over datasets, with facets and cursor pages: ``index`` keeps the
words and facet counts of each dataset, ``query`` finds and pages them."""

from datacommune.catalog.search.index import FACETS, FORMATS, LABELS, reindex, reindex_stale, words
from datacommune.catalog.search.query import (
    Query,
    Results,
    find,
    format_condition,
    load,
    relevance,
    word_condition,
)

__all__ = [
    "FACETS",
    "FORMATS",
    "LABELS",
    "Query",
    "Results",
    "find",
    "format_condition",
    "load",
    "reindex",
    "reindex_stale",
    "relevance",
    "word_condition",
    "words",
]
