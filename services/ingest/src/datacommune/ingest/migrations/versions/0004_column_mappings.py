"""column_mappings, and uploads.options: the reading choices an upload was made with

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from datacommune.shared.db import UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "column_mappings",
        sa.Column("dataset", sa.String(length=100), nullable=False),
        sa.Column("schema_id", sa.String(length=200), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("confirmed_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["dataset"], ["datasets.slug"]),
        sa.PrimaryKeyConstraint("dataset", "schema_id"),
    )
    with op.batch_alter_table("uploads") as batch:
        batch.add_column(sa.Column("options", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("uploads") as batch:
        batch.drop_column("options")
    op.drop_table("column_mappings")
