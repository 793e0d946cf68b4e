"""known_schemas: the schemas validate announced, offered on the upload page

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from datacommune.shared.db import UTCDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "known_schemas",
        sa.Column("name", sa.String(length=200), primary_key=True),
        sa.Column("version", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("announced_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("known_schemas")
