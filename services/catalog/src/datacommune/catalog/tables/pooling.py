"""Pooled data: one consolidated dataset per territory and schema, the sources it holds, its
rows with the range of consolidated versions each belongs to, and the work waiting for it
(see pooling/ and docs/consolidation.md)."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from datacommune.catalog.tables.base import Base
from datacommune.shared.db import UTCDateTime
from datacommune.shared.outbox import utcnow


class Pool(Base):
    """The consolidation of one schema (one major version of it) over one territory."""

    __tablename__ = "pools"
    __table_args__ = (UniqueConstraint("territory", "schema", "major", name="uq_pool"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    # The organization whose territory it covers, and which owns the consolidated dataset.
    territory: Mapped[str] = mapped_column(String(64), index=True)
    schema: Mapped[str] = mapped_column(String(200))
    major: Mapped[int] = mapped_column(Integer)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    # The consolidated dataset, made with its first version.
    dataset_id: Mapped[uuid.UUID | None] = mapped_column(unique=True)
    # The newest schema version pooled (``name@x.y.z``): its fields give the columns.
    schema_id: Mapped[str | None] = mapped_column(String(200))
    # The columns' fields (``events.TableField`` as dicts), then the provenance columns.
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    primary_key: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The newest consolidated version's number (0 before the first).
    number: Mapped[int] = mapped_column(Integer, default=0)
    # Where each segment lies in the newest version's file (pooled_file.py), or None.
    layout: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PoolSource(Base):
    """A file (a resource, followed across its versions) whose latest public version is
    pooled: which version, and the provenance its rows carry."""

    __tablename__ = "pool_sources"

    pool_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    resource_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    version_id: Mapped[uuid.UUID] = mapped_column()
    dataset: Mapped[str] = mapped_column(String(100))
    organization: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    since: Mapped[int] = mapped_column(Integer)


class PoolRow(Base):
    """A row of a source version, in the consolidated versions ``from_number`` to
    ``to_number`` (excluded; open while it is still pooled). Kept as the consolidated file's
    CSV line, provenance included, so that writing a version copies text."""

    __tablename__ = "pool_rows"
    __table_args__ = (
        Index("ix_pool_rows_open", "pool_id", "to_number", "resource_id"),
        Index("ix_pool_rows_key", "pool_id", "key"),
    )

    pool_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    version_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    # The row's record number in its source file (2 for the first data row).
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Never rewritten: new columns close a row and add it again, so every version's file can
    # be written again byte for byte from these rows.
    from_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    to_number: Mapped[int | None] = mapped_column(Integer)
    resource_id: Mapped[uuid.UUID] = mapped_column()
    organization: Mapped[str] = mapped_column(String(64))
    # The schema's primary key values, when it declares one: two sources sharing one conflict.
    key: Mapped[str | None] = mapped_column(Text)
    line: Mapped[str] = mapped_column(Text)


class PoolSegment(Base):
    """A pooled file's lines, as they appear in the consolidated CSV, in parts of about a
    megabyte: writing a version reads a few hundred of these, not every row."""

    __tablename__ = "pool_segments"

    pool_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    version_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    part: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_id: Mapped[uuid.UUID] = mapped_column(index=True)
    organization: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)


class PoolChange(Base):
    """Work waiting for a pool: a file whose pooled version may have changed. Recorded in the
    transaction of the change that caused it, removed in the one that applies it."""

    __tablename__ = "pool_changes"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    pool_id: Mapped[uuid.UUID] = mapped_column(index=True)
    resource_id: Mapped[uuid.UUID] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PoolVersion(Base):
    """One consolidated version: the catalogue version that serves it and what changed."""

    __tablename__ = "pool_versions"

    pool_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    rows: Mapped[int] = mapped_column(Integer)
    sources: Mapped[int] = mapped_column(Integer)
    # Its schema fields (its file's header, before the provenance columns).
    fields: Mapped[list[str]] = mapped_column(JSON)
    # Whether its file is in storage: only the newest versions' are kept, an older one is
    # written again from the rows when asked for (see pooling/files.py).
    kept: Mapped[bool] = mapped_column(Boolean, default=True)
    # Per source changed: organization, dataset, resource, version, added, removed.
    summary: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
