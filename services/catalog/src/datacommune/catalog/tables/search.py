"""What search counts: each dataset's facet values and every search term's counts."""

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


class SearchCount(Base):
    """How many datasets one search term finds, in total (``facet`` empty) and per facet
    value: searches of one term are answered from these rows (search/counts.py)."""

    __tablename__ = "search_counts"

    # COLLATE "C" on PostgreSQL (migration 0027): a word's prefix is a range of terms.
    term: Mapped[str] = mapped_column(String(250), primary_key=True)
    facet: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
