"""tokens with roles and expiry, delegations, and who uploaded each version

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from datacommune.shared.db import UTCDateTime

revision: str = "0013"
down_revision: str | None = "0012"
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
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("token_hash"),
        sa.UniqueConstraint("token_id"),
    )
    op.create_index("ix_tokens_organization", "tokens", ["organization"])
    op.create_table(
        "delegations",
        sa.Column("organization", sa.String(length=64), nullable=False),
        sa.Column("delegate", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("organization", "delegate"),
    )
    with op.batch_alter_table("versions") as batch:
        batch.add_column(sa.Column("uploaded_by", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("token_id", sa.Uuid(), nullable=True))
    # Each organization's first token becomes an admin token of the table.
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT slug, token_hash FROM organizations"))
    tokens = sa.table(
        "tokens",
        sa.column("token_hash", sa.String),
        sa.column("token_id", sa.Uuid),
        sa.column("organization", sa.String),
        sa.column("role", sa.String),
        sa.column("label", sa.String),
        sa.column("created_at", UTCDateTime),
    )
    now = datetime.now(UTC)
    for slug, token_hash in rows.all():
        op.execute(
            tokens.insert().values(
                token_hash=token_hash,
                token_id=uuid.uuid4(),
                organization=slug,
                role="admin",
                label="jeton de création",
                created_at=now,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("versions") as batch:
        batch.drop_column("token_id")
        batch.drop_column("uploaded_by")
    op.drop_table("delegations")
    op.drop_index("ix_tokens_organization", table_name="tokens")
    op.drop_table("tokens")
