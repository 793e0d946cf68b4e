"""Full-text search inside a version's rows: ``_search=fête saint`` keeps the rows where each
word begins a word of some text column, accents and case ignored.

- SQLite: an FTS5 table ``rows_<hex>_search`` over the text columns whose content is the rows
  table itself (the words are indexed, the text is not stored twice), tokenized by
  ``unicode61 remove_diacritics 2``: « Fête » is found by « fete » and « FÊTE ».
- PostgreSQL: a trigram index (pg_trgm) on each text column, for ``col__contains``; and a GIN
  index over ``to_tsvector('datacommune_plain', …)`` of the text columns
  joined (cut at ``MAX_TEXT`` characters); the query uses the very same expression, as
  PostgreSQL uses an index on an expression only for that expression. ``datacommune_plain``
  (migration 0026) is ``simple`` with the ``unaccent`` dictionary before it: words lowered and
  unaccented in C. Folding accents with ``translate`` instead took 8.8 s to index 200,000 rows
  against 4.4 s (with every accented Latin letter in its table: 36 s). Where the server
  cannot create the unaccent extension, ``datacommune_plain`` is ``simple`` alone and a search
  there minds accents (docs/rows.md).

Both read words alike (letters and digits; an apostrophe or a hyphen separates them), so a
search finds the same rows on both engines (``tests/catalog/test_rows_search.py``).

The index is built once the rows are ready, by the loader's second step (loader.py): on a
million rows of three text columns it took 4 s on SQLite and 15 s on PostgreSQL, which the row
API need not wait for; meanwhile ``_search`` answers 503 search-not-ready with Retry-After.
"""

import re

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

WORD = re.compile(r"\w+")
MAX_WORDS = 16
# A row's text past this many characters is not searched on PostgreSQL: to_tsvector refuses
# a text whose words and positions pass 1 MiB.
MAX_TEXT = 65536
READY, FAILED = "ready", "failed"


def words(raw: str) -> list[str]:
    """The words of a search, in order, at most ``MAX_WORDS``."""
    return WORD.findall(raw)[:MAX_WORDS]


def index_name(tbl: sa.Table) -> str:
    """The FTS5 table on SQLite, the GIN index on PostgreSQL."""
    return f"{tbl.name}_search"


def _text_columns(tbl: sa.Table, columns: list[dict[str, str]]) -> list[sa.Column[str]]:
    return [tbl.c[c["column"]] for c in columns if c["stored"] == "string"]


def _literal(text: str) -> sa.ColumnElement[str]:
    # Written into the statement, not bound: the query's expression must be the index's.
    return sa.literal_column("'" + text.replace("'", "''") + "'")


# The text search configuration of migration 0026.
CONFIGURATION: sa.ColumnElement[str] = sa.literal_column("'datacommune_plain'::regconfig")


def _vector(text_columns: list[sa.Column[str]]) -> sa.ColumnElement[str]:
    joined: sa.ColumnElement[str] = sa.func.coalesce(text_columns[0], _literal(""))
    for column in text_columns[1:]:
        joined = joined + _literal(" ") + sa.func.coalesce(column, _literal(""))
    return sa.func.to_tsvector(
        CONFIGURATION, sa.func.left(joined, sa.literal_column(str(MAX_TEXT)))
    )


def condition(
    tbl: sa.Table, columns: list[dict[str, str]], terms: list[str], dialect: str
) -> sa.ColumnElement[bool]:
    """The rows where each of ``terms`` begins a word of a text column."""
    text_columns = _text_columns(tbl, columns)
    if not text_columns or not terms:
        return sa.false()
    if dialect == "postgresql":
        query = " & ".join(f"{term}:*" for term in terms)
        tsquery = sa.func.to_tsquery(CONFIGURATION, sa.literal(query))
        return _vector(text_columns).op("@@")(tsquery)
    name = index_name(tbl)
    fts = sa.table(name, sa.column(name), sa.column("rowid"))
    # Each word a quoted string (no FTS5 syntax gets through), a prefix (*), all of them.
    match = " ".join(f'"{term}"*' for term in terms)
    return tbl.c._row.in_(sa.select(fts.c.rowid).where(fts.c[name].match(match)))


async def build(connection: AsyncConnection, tbl: sa.Table, columns: list[dict[str, str]]) -> None:
    """Index the text columns of a table whose rows are all there."""
    text_columns = _text_columns(tbl, columns)
    if not text_columns:
        return
    name = index_name(tbl)
    if connection.dialect.name == "postgresql":
        expression = _vector(text_columns).compile(
            dialect=connection.dialect, compile_kwargs={"literal_binds": True}
        )
        # Names of our making (rows_<hex>, c<n>), never a header's text.
        await connection.exec_driver_sql(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "{tbl.name}" USING gin (({expression}))'
        )
        trigrams = await connection.exec_driver_sql(
            "SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'"
        )
        if trigrams.first() is not None:
            # col__contains is ILIKE '%…%', which a trigram index serves (PostgreSQL checks
            # each row it points to again: the same rows as a scan).
            for column in text_columns:
                await connection.exec_driver_sql(
                    f'CREATE INDEX IF NOT EXISTS "{name}_{column.name}" ON "{tbl.name}" '
                    f'USING gin ("{column.name}" gin_trgm_ops)'
                )
        return
    quoted = ", ".join(f'"{c.name}"' for c in text_columns)
    await connection.exec_driver_sql(
        f'CREATE VIRTUAL TABLE IF NOT EXISTS "{name}" USING fts5({quoted}, '
        f"content='{tbl.name}', content_rowid='_row', "
        "tokenize='unicode61 remove_diacritics 2')"
    )
    await connection.exec_driver_sql(f'INSERT INTO "{name}"("{name}") VALUES (\'rebuild\')')
