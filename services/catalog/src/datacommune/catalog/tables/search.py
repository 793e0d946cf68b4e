"""What search counts: each dataset's facet values and the catalogue's facet totals."""

import uuid

from sqlalchemy import (
    ForeignKey,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from datacommune.catalog.tables.base import Base


class DatasetFacet(Base):
    """One value a dataset has for a facet (its organization, theme, licence, schemas,
    formats): facet counts become one indexed GROUP BY instead of joins over versions."""

    __tablename__ = "dataset_facets"

    facet: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), primary_key=True)
    dataset_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("datasets.id"), primary_key=True, index=True
    )


class FacetCount(Base):
    """How many datasets have a facet value: the facets of the whole catalogue, kept by
    search.reindex in the same transaction as dataset_facets."""

    __tablename__ = "facet_counts"

    facet: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
