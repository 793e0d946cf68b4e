"""datasets.title_words: the search words of a dataset's title, so that relevance puts the
datasets found by their title first and pages by recency within each tier, an order indexes
serve with no score computed per match (search/query.py): on PostgreSQL the title's words
weigh A in search_vector, on SQLite they are a column of datasets_fts

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 2000
VECTOR = (
    "setweight(to_tsvector('simple'::regconfig, title_words), 'A') || "
    "to_tsvector('simple'::regconfig, search_text)"
)


def upgrade() -> None:
    # The words as search_text has them: the same function, or titles and texts would disagree.
    from datacommune.catalog.search.index import words

    bind = op.get_bind()
    with op.batch_alter_table("datasets") as batch:
        batch.add_column(sa.Column("title_words", sa.Text(), nullable=False, server_default=""))
    last = None
    while True:
        after = "WHERE id > :last " if last is not None else ""
        page = bind.execute(
            sa.text(f"SELECT id, title FROM datasets {after}ORDER BY id LIMIT {BATCH}"),
            {"last": last} if last is not None else {},
        ).all()
        if not page:
            break
        last = page[-1][0]
        bind.execute(
            sa.text("UPDATE datasets SET title_words = :words WHERE id = :id"),
            [{"id": id_, "words": " ".join(words(title or ""))} for id_, title in page],
        )
    if bind.dialect.name == "postgresql":
        op.execute("DROP INDEX ix_datasets_search_fts")
        op.execute("ALTER TABLE datasets DROP COLUMN search_vector")
        op.execute(
            f"ALTER TABLE datasets ADD COLUMN search_vector tsvector "
            f"GENERATED ALWAYS AS ({VECTOR}) STORED"
        )
        op.execute("CREATE INDEX ix_datasets_search_fts ON datasets USING gin (search_vector)")
        return
    op.execute(
        "CREATE VIRTUAL TABLE datasets_fts_titled USING fts5(dataset_id UNINDEXED, title, "
        "search_text)"
    )
    op.execute(
        "INSERT INTO datasets_fts_titled (dataset_id, title, search_text) "
        "SELECT f.dataset_id, coalesce(d.title_words, ''), f.search_text "
        "FROM datasets_fts f LEFT JOIN datasets d ON d.id = f.dataset_id"
    )
    op.execute("DROP TABLE datasets_fts")
    op.execute("ALTER TABLE datasets_fts_titled RENAME TO datasets_fts")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP INDEX ix_datasets_search_fts")
        op.execute("ALTER TABLE datasets DROP COLUMN search_vector")
        op.execute(
            "ALTER TABLE datasets ADD COLUMN search_vector tsvector "
            "GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, search_text)) STORED"
        )
        op.execute("CREATE INDEX ix_datasets_search_fts ON datasets USING gin (search_vector)")
    else:
        op.execute(
            "CREATE VIRTUAL TABLE datasets_fts_plain USING fts5(dataset_id UNINDEXED, search_text)"
        )
        op.execute(
            "INSERT INTO datasets_fts_plain (dataset_id, search_text) "
            "SELECT dataset_id, search_text FROM datasets_fts"
        )
        op.execute("DROP TABLE datasets_fts")
        op.execute("ALTER TABLE datasets_fts_plain RENAME TO datasets_fts")
    with op.batch_alter_table("datasets") as batch:
        batch.drop_column("title_words")
