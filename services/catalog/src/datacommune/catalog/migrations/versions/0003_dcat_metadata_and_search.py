"""DCAT-AP metadata on datasets, parent territories, and the French full-text index

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("organizations") as batch:
        batch.add_column(sa.Column("parent", sa.String(length=64), nullable=True))
        batch.create_foreign_key("fk_organizations_parent", "organizations", ["parent"], ["slug"])
    with op.batch_alter_table("datasets") as batch:
        batch.add_column(sa.Column("keywords", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("theme", sa.String(length=16), nullable=True))
        batch.add_column(
            sa.Column("licence", sa.String(length=64), nullable=False, server_default="etalab-2.0")
        )
        batch.add_column(sa.Column("contact_point", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("spatial", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("temporal_start", sa.Date(), nullable=True))
        batch.add_column(sa.Column("temporal_end", sa.Date(), nullable=True))
        batch.add_column(sa.Column("frequency", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("search_text", sa.Text(), nullable=False, server_default=""))
        batch.create_index("ix_datasets_theme", ["theme"])
        batch.create_index("ix_datasets_licence", ["licence"])
        batch.create_index("ix_datasets_updated_at", ["updated_at"])
    # The full-text index lives outside the models: each engine has its own.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX ix_datasets_search_fts ON datasets "
            "USING gin (to_tsvector('simple', search_text))"
        )
    else:
        op.execute(
            "CREATE VIRTUAL TABLE datasets_fts USING fts5(dataset_id UNINDEXED, search_text)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_datasets_search_fts")
    else:
        op.execute("DROP TABLE datasets_fts")
    with op.batch_alter_table("datasets") as batch:
        for index in ("ix_datasets_updated_at", "ix_datasets_licence", "ix_datasets_theme"):
            batch.drop_index(index)
        for column in (
            "search_text",
            "frequency",
            "temporal_end",
            "temporal_start",
            "spatial",
            "contact_point",
            "licence",
            "theme",
            "keywords",
        ):
            batch.drop_column(column)
    with op.batch_alter_table("organizations") as batch:
        batch.drop_constraint("fk_organizations_parent", type_="foreignkey")
        batch.drop_column("parent")
