"""versions keep the original upload and the change list when they publish its repair

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


def columns() -> list[sa.Column[object]]:
    return [
        sa.Column("original_object_key", sa.String(length=300), nullable=True),
        sa.Column("original_sha256", sa.String(length=64), nullable=True),
        sa.Column("original_size", sa.BigInteger(), nullable=True),
        sa.Column("original_filename", sa.String(length=1024), nullable=True),
        sa.Column("original_media_type", sa.String(length=200), nullable=True),
        sa.Column("changes_key", sa.String(length=300), nullable=True),
    ]


def upgrade() -> None:
    with op.batch_alter_table("versions") as batch:
        for column in columns():
            batch.add_column(column)


def downgrade() -> None:
    with op.batch_alter_table("versions") as batch:
        for column in reversed(columns()):
            batch.drop_column(column.name)
