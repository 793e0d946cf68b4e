"""pools.layout: where each segment lies in the newest version's file, so that the next one
copies the unchanged bytes from it rather than reading them again from the database

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Empty for the pools made before: their next version is written from the database, as
    # before, and records its layout.
    op.add_column("pools", sa.Column("layout", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("pools", "layout")
