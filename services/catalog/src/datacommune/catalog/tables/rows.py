"""The state of each tabular version's rows: its shape, and where loading it stands."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from datacommune.catalog.tables.base import Base
from datacommune.shared.db import UTCDateTime
from datacommune.shared.outbox import utcnow


class RowTable(Base):
    """A tabular version's rows, loaded into a table of their own (``rows_<version hex>``) for
    the row API and the exports. Loading happens after publication, in the background."""

    __tablename__ = "row_tables"

    version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("versions.id"), primary_key=True)
    # pending → loading → ready, or failed (the error says why); loading has a lease, so a
    # catalog that died mid-load leaves the work to another.
    status: Mapped[str] = mapped_column(String(16), index=True)
    # How to read the file, as validate found it (``events.TableShape``).
    shape: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The columns as loaded: name, Table Schema type, SQL column.
    columns: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)
    row_count: Mapped[int | None] = mapped_column(BigInteger)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    loaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The full-text index of ``_search`` (rows/search.py), built once the rows are ready: NULL
    # while it is to be built, ``ready``, or ``failed`` (logged; the rest of the API serves).
    search: Mapped[str | None] = mapped_column(String(16))


class RowExport(Base):
    """A version's whole table in one export format, kept in storage once made: served like
    any stored file, with its length, an ETag and byte ranges, which readers over HTTP
    (pyarrow and DuckDB on Parquet, download managers) need. Filtered exports are streamed."""

    __tablename__ = "row_exports"

    version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("versions.id"), primary_key=True)
    format: Mapped[str] = mapped_column(String(16), primary_key=True)
    object_key: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
