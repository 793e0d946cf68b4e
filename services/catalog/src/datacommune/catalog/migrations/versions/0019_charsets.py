"""versions keep the text encoding of their bytes (and of their original), served as charset

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from datacommune.shared.charsets import iana

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("versions") as batch:
        batch.add_column(sa.Column("charset", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("original_charset", sa.String(length=40), nullable=True))
    # Versions read as rows already say how: the encoding of the published file. The others
    # (and the originals of repaired versions) stay unknown and are served without a charset.
    bind = op.get_bind()
    shapes = sa.table(
        "row_tables", sa.column("version_id", sa.Uuid()), sa.column("shape", sa.JSON())
    )
    versions = sa.table("versions", sa.column("id", sa.Uuid()), sa.column("charset", sa.String(40)))
    for version_id, shape in bind.execute(sa.select(shapes.c.version_id, shapes.c.shape)):
        encoding = (shape or {}).get("encoding")
        if encoding:
            bind.execute(
                sa.update(versions)
                .where(versions.c.id == version_id)
                .values(charset=iana(encoding))
            )


def downgrade() -> None:
    with op.batch_alter_table("versions") as batch:
        batch.drop_column("original_charset")
        batch.drop_column("charset")
