"""uploads.schema_key becomes uploads.variant: schema, encoding and delimiter choices

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("uploads") as batch:
        batch.drop_constraint("uq_upload_bytes", type_="unique")
        batch.alter_column(
            "schema_key",
            new_column_name="variant",
            existing_type=sa.String(length=200),
            type_=sa.String(length=300),
            existing_nullable=False,
        )
    # A second batch: SQLite rebuilds the table, and a constraint dropped and re-added under the
    # same name in one batch would be lost.
    with op.batch_alter_table("uploads") as batch:
        batch.create_unique_constraint("uq_upload_bytes", ["dataset", "sha256", "variant"])


def downgrade() -> None:
    with op.batch_alter_table("uploads") as batch:
        batch.drop_constraint("uq_upload_bytes", type_="unique")
        batch.alter_column(
            "variant",
            new_column_name="schema_key",
            existing_type=sa.String(length=300),
            type_=sa.String(length=200),
            existing_nullable=False,
        )
    with op.batch_alter_table("uploads") as batch:
        batch.create_unique_constraint("uq_upload_bytes", ["dataset", "sha256", "schema_key"])
