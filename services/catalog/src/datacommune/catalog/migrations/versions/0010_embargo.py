"""embargo: public flags on datasets, resources and versions; the releases catalog opened

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from datacommune.shared.db import UTCDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("datasets", "resources", "versions"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("public", sa.Boolean(), nullable=False, server_default=sa.true())
            )
    with op.batch_alter_table("versions") as batch:
        batch.add_column(sa.Column("release_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("public_at", UTCDateTime(), nullable=True))
        batch.create_index("ix_versions_release_id", ["release_id"])
        batch.create_index("ix_versions_public_at", ["public_at"])
    op.create_index(
        "ix_datasets_public_id",
        "datasets",
        ["id"],
        postgresql_where=sa.text("public"),
        sqlite_where=sa.text("public"),
    )
    # Everything published before the embargo existed was public when it was published.
    op.execute("UPDATE versions SET public_at = published_at")
    op.create_table(
        "opened_releases",
        sa.Column("release_id", sa.Uuid(), nullable=False),
        sa.Column("organization", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("local_event_title", sa.String(length=300), nullable=True),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("applied_at", UTCDateTime(), nullable=False),
        sa.Column("versions", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("release_id"),
    )


def downgrade() -> None:
    op.drop_table("opened_releases")
    op.drop_index("ix_datasets_public_id", table_name="datasets")
    with op.batch_alter_table("versions") as batch:
        batch.drop_index("ix_versions_public_at")
        batch.drop_index("ix_versions_release_id")
        batch.drop_column("public_at")
        batch.drop_column("release_id")
    for table in ("versions", "resources", "datasets"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("public")
