"""dataset_facets: each dataset's facet values, for fast facet counts

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dataset_facets",
        sa.Column("facet", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("dataset_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"]),
        sa.PrimaryKeyConstraint("facet", "value", "dataset_id"),
    )
    op.create_index("ix_dataset_facets_dataset_id", "dataset_facets", ["dataset_id"])
    # Existing datasets get their rows when catalog starts (search.reindex_stale).
    op.execute("UPDATE datasets SET search_text = ''")


def downgrade() -> None:
    op.drop_index("ix_dataset_facets_dataset_id", table_name="dataset_facets")
    op.drop_table("dataset_facets")
