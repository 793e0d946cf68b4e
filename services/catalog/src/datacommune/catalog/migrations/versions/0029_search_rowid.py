"""datasets.search_rowid (SQLite): the rowid of a dataset's row in datasets_fts, so that a word
search reads the matching rowids from the text index alone and meets datasets by an index,
and reindexing a dataset deletes its text row by rowid

Until now the text row was found by its ``dataset_id``, a column FTS5 does not index: every
search read that column for each of its matches (a common word: tens of thousands of reads of
the text table), and every reindex looked for the dataset's row through the whole text table.
PostgreSQL keeps its search vector in the dataset's row and needs none of this.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("ALTER TABLE datasets ADD COLUMN search_rowid INTEGER")
    # Each text row's rowid becomes its dataset's (rowids of an FTS5 table are stable).
    op.execute(
        "UPDATE datasets SET search_rowid = fts.rowid "
        "FROM (SELECT rowid, dataset_id FROM datasets_fts) AS fts "
        "WHERE fts.dataset_id = datasets.id"
    )
    op.execute("CREATE UNIQUE INDEX ix_datasets_search_rowid ON datasets (search_rowid)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP INDEX ix_datasets_search_rowid")
    op.execute("ALTER TABLE datasets DROP COLUMN search_rowid")
