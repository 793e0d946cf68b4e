"""tokens and delegations as catalog announces them; who uploaded each upload

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from datacommune.shared.db import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("token_id", sa.Uuid(), nullable=False),
        sa.Column("organization", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("token_hash"),
        sa.UniqueConstraint("token_id"),
    )
    op.create_index("ix_tokens_organization", "tokens", ["organization"])
    op.create_table(
        "delegations",
        sa.Column("organization", sa.String(length=64), nullable=False),
        sa.Column("delegate", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("organization", "delegate"),
    )
    with op.batch_alter_table("uploads") as batch:
        batch.add_column(sa.Column("uploaded_by", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("token_id", sa.Uuid(), nullable=True))
        batch.create_index("ix_uploads_uploaded_by", ["uploaded_by"])


def downgrade() -> None:
    with op.batch_alter_table("uploads") as batch:
        batch.drop_index("ix_uploads_uploaded_by")
        batch.drop_column("token_id")
        batch.drop_column("uploaded_by")
    op.drop_table("delegations")
    op.drop_index("ix_tokens_organization", table_name="tokens")
    op.drop_table("tokens")
