"""PostgreSQL keeps each dataset's tsvector stored, so ranking does not recompute it per row

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite's FTS5 table already holds its index
    op.execute(
        "ALTER TABLE datasets ADD COLUMN search_vector tsvector "
        "GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, search_text)) STORED"
    )
    op.execute("DROP INDEX ix_datasets_search_fts")
    op.execute("CREATE INDEX ix_datasets_search_fts ON datasets USING gin (search_vector)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX ix_datasets_search_fts")
    op.execute("ALTER TABLE datasets DROP COLUMN search_vector")
    op.execute(
        "CREATE INDEX ix_datasets_search_fts ON datasets "
        "USING gin (to_tsvector('simple', search_text))"
    )
