"""releases, and local events with an end, a status and their iCalendar identity

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from datacommune.shared.db import UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("local_events") as batch:
        batch.add_column(sa.Column("ends_at", UTCDateTime(), nullable=True))
        batch.add_column(
            sa.Column("status", sa.String(length=16), nullable=False, server_default="planned")
        )
        batch.add_column(sa.Column("uid", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("recurrence_id", UTCDateTime(), nullable=True))
        batch.create_index("ix_local_events_uid", ["uid"])
    op.create_table(
        "releases",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("local_event_id", sa.Uuid(), nullable=True),
        sa.Column("offset_minutes", sa.Integer(), nullable=False),
        sa.Column("fixed_at", UTCDateTime(), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("announce", sa.Boolean(), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=True),
        sa.Column("delay_seconds", sa.Float(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["organization"], ["organizations.slug"]),
        sa.ForeignKeyConstraint(["local_event_id"], ["local_events.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_releases_organization", "releases", ["organization"])
    op.create_index("ix_releases_local_event_id", "releases", ["local_event_id"])
    op.create_index("ix_releases_due_at", "releases", ["due_at"])
    op.create_index("ix_releases_status", "releases", ["status"])


def downgrade() -> None:
    op.drop_table("releases")
    with op.batch_alter_table("local_events") as batch:
        batch.drop_index("ix_local_events_uid")
        batch.drop_column("recurrence_id")
        batch.drop_column("uid")
        batch.drop_column("status")
        batch.drop_column("ends_at")
