"""opened_releases.applied_at may be empty: recorded, not yet due by catalog's clock

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

from datacommune.shared.db import UTCDateTime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("opened_releases") as batch:
        batch.alter_column("applied_at", existing_type=UTCDateTime(), nullable=True)


def downgrade() -> None:
    op.execute("UPDATE opened_releases SET applied_at = opened_at WHERE applied_at IS NULL")
    with op.batch_alter_table("opened_releases") as batch:
        batch.alter_column("applied_at", existing_type=UTCDateTime(), nullable=False)
