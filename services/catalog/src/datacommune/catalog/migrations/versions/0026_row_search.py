"""row_tables.search: whether a version's full-text search index over its text columns is
built (``ready``), still to build (NULL) or could not be (``failed``); on PostgreSQL, the text
search configuration that index reads words with, and the trigram extension that serves
col__contains (rows/search.py)

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
import structlog
from alembic import op

log = structlog.get_logger()

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("row_tables") as batch:
        batch.add_column(sa.Column("search", sa.String(16), nullable=True))
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    # Trigrams, which serve col__contains (ILIKE '%…%'); a trusted extension too.
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except sa.exc.DBAPIError:
        log.warning("pg_trgm_missing", consequence="col__contains on PostgreSQL reads every row")
    # Words lowered and unaccented: ``simple`` after the unaccent dictionary (a trusted
    # extension since PostgreSQL 13, which the database's owner may create).
    op.execute("CREATE TEXT SEARCH CONFIGURATION datacommune_plain (COPY = simple)")
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS unaccent")
    except sa.exc.DBAPIError:
        log.warning("unaccent_missing", consequence="row searches on PostgreSQL mind accents")
        return
    op.execute(
        "ALTER TEXT SEARCH CONFIGURATION datacommune_plain "
        "ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple"
    )


def downgrade() -> None:
    with op.batch_alter_table("row_tables") as batch:
        batch.drop_column("search")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS datacommune_plain CASCADE")
