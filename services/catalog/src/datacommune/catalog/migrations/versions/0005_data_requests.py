"""data_requests and votes: reusers ask for data, others vote

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from datacommune.shared.db import UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "data_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("territory", sa.String(length=64), nullable=True),
        sa.Column("schema_id", sa.String(length=200), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["territory"], ["organizations.slug"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_data_requests_territory", "data_requests", ["territory"])
    op.create_table(
        "votes",
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("voter_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["data_requests.id"]),
        sa.PrimaryKeyConstraint("request_id", "voter_hash"),
    )


def downgrade() -> None:
    op.drop_table("votes")
    op.drop_index("ix_data_requests_territory", table_name="data_requests")
    op.drop_table("data_requests")
