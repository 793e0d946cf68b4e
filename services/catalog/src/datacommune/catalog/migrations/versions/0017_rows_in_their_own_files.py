"""On SQLite, each version's rows move to a file of their own: the tables kept in catalog's
database are dropped and loaded again into ``<database>-rows/`` from storage

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROWS_TABLE = re.compile(r"rows_[0-9a-f]{32}")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return  # PostgreSQL keeps rows in the database (catalog/rowstore.py says why)
    names = bind.execute(sa.text("SELECT name FROM sqlite_master WHERE type = 'table'")).scalars()
    for name in [n for n in names if ROWS_TABLE.fullmatch(n)]:
        op.execute(sa.text(f'DROP TABLE "{name}"'))  # its indexes go with it
    # The loader loads them again, as at publication; meanwhile their rows answer 503.
    op.execute(
        sa.text(
            "UPDATE row_tables SET status = 'pending', lease_until = NULL "
            "WHERE status IN ('ready', 'loading')"
        )
    )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # The rows are in their files, which an older catalog does not read: load them again.
        op.execute(
            sa.text(
                "UPDATE row_tables SET status = 'pending', lease_until = NULL "
                "WHERE status IN ('ready', 'loading')"
            )
        )
