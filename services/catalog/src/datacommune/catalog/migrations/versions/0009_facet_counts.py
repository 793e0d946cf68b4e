"""Facets without a join: each dataset's schema and format values on its row, and the counts
of the whole catalogue kept in facet_counts

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("datasets") as batch:
        batch.add_column(sa.Column("facet_values", sa.Text(), nullable=True))
    op.create_table(
        "facet_counts",
        sa.Column("facet", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("facet", "value"),
    )
    # From what dataset_facets already holds: the datasets not indexed yet stay NULL and get
    # theirs from search.reindex_stale when catalog starts, as before.
    lines = "facet || '=' || value"
    multi = "facet IN ('schema', 'format')"
    if op.get_bind().dialect.name == "postgresql":
        joined = f"string_agg({lines}, E'\\n' ORDER BY facet, value)"
        source = (
            f"(SELECT {joined} FROM dataset_facets f WHERE f.dataset_id = datasets.id AND {multi})"
        )
    else:
        ordered = (
            "SELECT facet, value FROM dataset_facets f "
            f"WHERE f.dataset_id = datasets.id AND {multi} ORDER BY facet, value"
        )
        source = f"(SELECT group_concat({lines}, char(10)) FROM ({ordered}))"
    op.execute(
        f"UPDATE datasets SET facet_values = coalesce({source}, '') "
        "WHERE EXISTS (SELECT 1 FROM dataset_facets f WHERE f.dataset_id = datasets.id)"
    )
    op.execute(
        "INSERT INTO facet_counts (facet, value, count) "
        "SELECT facet, value, count(*) FROM dataset_facets GROUP BY facet, value"
    )


def downgrade() -> None:
    op.drop_table("facet_counts")
    with op.batch_alter_table("datasets") as batch:
        batch.drop_column("facet_values")
