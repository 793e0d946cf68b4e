"""pooled data: pools, their sources, rows with version ranges, segments, pending work, versions

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from datacommune.shared.db import UTCDateTime

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pools",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("territory", sa.String(length=64), nullable=False, index=True),
        sa.Column("schema", sa.String(length=200), nullable=False),
        sa.Column("major", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False, unique=True),
        sa.Column("dataset_id", sa.Uuid(), nullable=True, unique=True),
        sa.Column("schema_id", sa.String(length=200), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("primary_key", sa.JSON(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("territory", "schema", "major", name="uq_pool"),
    )
    op.create_table(
        "pool_sources",
        sa.Column("pool_id", sa.Uuid(), primary_key=True),
        sa.Column("resource_id", sa.Uuid(), primary_key=True),
        sa.Column("version_id", sa.Uuid(), nullable=False),
        sa.Column("dataset", sa.String(length=100), nullable=False),
        sa.Column("organization", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("since", sa.Integer(), nullable=False),
    )
    op.create_table(
        "pool_rows",
        sa.Column("pool_id", sa.Uuid(), primary_key=True),
        sa.Column("version_id", sa.Uuid(), primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("from_number", sa.Integer(), primary_key=True),
        sa.Column("to_number", sa.Integer(), nullable=True),
        sa.Column("resource_id", sa.Uuid(), nullable=False),
        sa.Column("organization", sa.String(length=64), nullable=False),
        sa.Column("key", sa.Text(), nullable=True),
        sa.Column("line", sa.Text(), nullable=False),
    )
    op.create_index("ix_pool_rows_open", "pool_rows", ["pool_id", "to_number", "resource_id"])
    op.create_index("ix_pool_rows_key", "pool_rows", ["pool_id", "key"])
    op.create_table(
        "pool_segments",
        sa.Column("pool_id", sa.Uuid(), primary_key=True),
        sa.Column("version_id", sa.Uuid(), primary_key=True),
        sa.Column("part", sa.Integer(), primary_key=True),
        sa.Column("resource_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("organization", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
    )
    op.create_table(
        "pool_changes",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("pool_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("resource_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "pool_versions",
        sa.Column("pool_id", sa.Uuid(), primary_key=True),
        sa.Column("number", sa.Integer(), primary_key=True),
        sa.Column("version_id", sa.Uuid(), nullable=False, unique=True),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("sources", sa.Integer(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("kept", sa.Boolean(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "pool_versions",
        "pool_changes",
        "pool_segments",
        "pool_rows",
        "pool_sources",
        "pools",
    ):
        op.drop_table(table)
