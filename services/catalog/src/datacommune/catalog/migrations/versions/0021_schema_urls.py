"""versions keep where their schema is published (DCAT conformsTo)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Versions published before validate sent the address: the schemas it ships, by id, as
# validate/schemas/addresses.json lists them. Schemas of a registry of the operator's stay
# unknown until their next version (the feed then points at validate's copy).
SHIPPED = {
    "scdl-subventions@2.1.1": "scdl/subventions/2.1.1",
    "scdl-deliberations@2.1.5": "scdl/deliberations/2.1.5",
    "scdl-budget@0.8.3": "scdl/budget/0.8.3",
    "lieux-covoiturage@0.3.0": "etalab/schema-lieux-covoiturage/0.3.0",
}


def upgrade() -> None:
    with op.batch_alter_table("versions") as batch:
        batch.add_column(sa.Column("schema_url", sa.String(length=500), nullable=True))
    versions = sa.table(
        "versions", sa.column("schema_id", sa.String(200)), sa.column("schema_url", sa.String(500))
    )
    for schema_id, path in SHIPPED.items():
        op.execute(
            sa.update(versions)
            .where(versions.c.schema_id == schema_id)
            .values(schema_url=f"https://schema.data.gouv.fr/schemas/{path}/schema.json")
        )


def downgrade() -> None:
    with op.batch_alter_table("versions") as batch:
        batch.drop_column("schema_url")
