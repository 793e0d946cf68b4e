"""search_counts: for every search term (the whole catalogue, a word, a facet value) its total
and its facet counts, kept by search.reindex (search/counts.py); they take over from
facet_counts, which only knew the whole catalogue

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07
"""

from collections import Counter
from collections.abc import Iterator, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As search/counts.py at this revision (a migration keeps its own copy: the code moves on).
FULL = 500
LONGEST = 100
BATCH = 2000


def upgrade() -> None:
    bind = op.get_bind()
    # Byte order on PostgreSQL: a word's prefix is a range of terms whatever the database's
    # collation.
    collation = "C" if bind.dialect.name == "postgresql" else None
    op.create_table(
        "search_counts",
        sa.Column("term", sa.String(length=250, collation=collation), nullable=False),
        sa.Column("facet", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("term", "facet", "value"),
    )
    table = sa.table(
        "search_counts",
        sa.column("term"),
        sa.column("facet"),
        sa.column("value"),
        sa.column("count"),
    )
    # The whole catalogue and each facet value, from dataset_facets (the indexed, public
    # datasets, as counts.py counts them).
    term = "'f:' || a.facet || '=' || a.value"
    op.execute(
        "INSERT INTO search_counts (term, facet, value, count) "
        "SELECT '', facet, value, count(*) FROM dataset_facets GROUP BY facet, value "
        "UNION ALL SELECT '', '', '', count(DISTINCT dataset_id) FROM dataset_facets "
        f"UNION ALL SELECT {term}, '', '', count(*) FROM dataset_facets a GROUP BY a.facet, a.value "
        f"UNION ALL SELECT {term}, b.facet, b.value, count(*) FROM dataset_facets a "
        "JOIN dataset_facets b ON b.dataset_id = a.dataset_id "
        "GROUP BY a.facet, a.value, b.facet, b.value"
    )
    # Words: their totals, then the facets of the common ones, datasets read in batches.
    totals: Counter[str] = Counter()
    for words, _ in _datasets(bind):
        totals.update(words)
    kept = {w for w, count in totals.items() if count >= FULL}
    facets: Counter[tuple[str, str, str]] = Counter()
    if kept:
        for words, values in _datasets(bind):
            facets.update((w, f, v) for w in words & kept for f, v in values)
    rows = [{"term": w, "facet": "", "value": "", "count": c} for w, c in totals.items()]
    rows += [{"term": w, "facet": "*", "value": "", "count": 1} for w in kept]
    rows += [{"term": t, "facet": f, "value": v, "count": c} for (t, f, v), c in facets.items()]
    for start in range(0, len(rows), BATCH):
        op.bulk_insert(table, rows[start : start + BATCH])
    op.drop_table("facet_counts")


def _datasets(bind: sa.Connection) -> Iterator[tuple[set[str], set[tuple[str, str]]]]:
    """Each counted dataset's words (as terms) and facet values, a batch at a time."""
    last = None
    while True:
        after = "WHERE id > :last " if last is not None else ""
        page = bind.execute(
            sa.text(f"SELECT id, search_text FROM datasets {after}ORDER BY id LIMIT {BATCH}"),
            {"last": last} if last is not None else {},
        ).all()
        if not page:
            return
        last = page[-1][0]
        values: dict[object, set[tuple[str, str]]] = {}
        found = bind.execute(
            sa.text(
                "SELECT dataset_id, facet, value FROM dataset_facets WHERE dataset_id IN :ids"
            ).bindparams(sa.bindparam("ids", [id_ for id_, _ in page], expanding=True))
        )
        for dataset_id, facet, value in found:
            values.setdefault(dataset_id, set()).add((facet, value))
        for dataset_id, search_text in page:
            if dataset_id in values:
                words = {f"w:{token[:LONGEST]}" for token in (search_text or "").split()}
                yield words, values[dataset_id]


def downgrade() -> None:
    op.create_table(
        "facet_counts",
        sa.Column("facet", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("facet", "value"),
    )
    op.execute(
        "INSERT INTO facet_counts (facet, value, count) "
        "SELECT facet, value, count FROM search_counts WHERE term = '' AND facet <> ''"
    )
    op.drop_table("search_counts")
