"""harvesting: sources, their runs, harvested datasets' records and remote resources

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from datacommune.shared.db import UTCDateTime

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "harvest_sources",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("filter", sa.String(length=1000), nullable=True),
        sa.Column("interval_minutes", sa.Integer(), nullable=False),
        sa.Column("next_run_at", UTCDateTime(), nullable=False),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("run_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["organization"], ["organizations.slug"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_harvest_sources_organization", "harvest_sources", ["organization"])
    op.create_index("ix_harvest_sources_next_run_at", "harvest_sources", ["next_run_at"])
    op.create_table(
        "harvest_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("source_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.Column("failures", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["source_id"], ["harvest_sources.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_harvest_runs_source_id", "harvest_runs", ["source_id"])
    op.create_table(
        "harvest_records",
        sa.Column("source_id", sa.Uuid(), nullable=False),
        sa.Column("remote_id", sa.String(length=300), nullable=False),
        sa.Column("identity", sa.String(length=1000), nullable=False),
        sa.Column("dataset_id", sa.Uuid(), nullable=False),
        sa.Column("remote_modified", UTCDateTime(), nullable=True),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("last_seen_run", sa.Uuid(), nullable=True),
        sa.Column("harvested_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"]),
        sa.ForeignKeyConstraint(["source_id"], ["harvest_sources.id"]),
        sa.PrimaryKeyConstraint("source_id", "remote_id"),
        sa.UniqueConstraint("dataset_id"),
        sa.UniqueConstraint("identity"),
    )
    op.create_table(
        "remote_resources",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("dataset_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("format", sa.String(length=32), nullable=True),
        sa.Column("media_type", sa.String(length=200), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_remote_resources_dataset_id", "remote_resources", ["dataset_id"])


def downgrade() -> None:
    op.drop_index("ix_remote_resources_dataset_id", table_name="remote_resources")
    op.drop_table("remote_resources")
    op.drop_table("harvest_records")
    op.drop_index("ix_harvest_runs_source_id", table_name="harvest_runs")
    op.drop_table("harvest_runs")
    op.drop_index("ix_harvest_sources_next_run_at", table_name="harvest_sources")
    op.drop_index("ix_harvest_sources_organization", table_name="harvest_sources")
    op.drop_table("harvest_sources")
