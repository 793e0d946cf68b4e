"""Harvest sources, their runs, and the record of each harvested dataset."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from datacommune.catalog.tables.base import Base
from datacommune.shared.db import UTCDateTime
from datacommune.shared.outbox import utcnow


class HarvestSource(Base):
    """A portal an organization already runs (CKAN, OpenDataSoft) or a DCAT catalogue it
    publishes, harvested into the catalogue on a schedule."""

    __tablename__ = "harvest_sources"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organization: Mapped[str] = mapped_column(ForeignKey("organizations.slug"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # ckan, opendatasoft or dcat
    url: Mapped[str] = mapped_column(String(1000))
    # CKAN's ``fq``, OpenDataSoft's ``where``; nothing for DCAT.
    filter: Mapped[str | None] = mapped_column(String(1000))
    interval_minutes: Mapped[int] = mapped_column(Integer)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # Who is harvesting it now: a replica claims the source until then, and renews it as it
    # goes, so two replicas never harvest one source at once.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The run holding the lease: a replica that lost it (it stalled past the lease) finds out
    # when it renews, and stops.
    run_id: Mapped[uuid.UUID | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class HarvestRun(Base):
    """One harvest of a source, and its log: counts, and the cause of every failure."""

    __tablename__ = "harvest_runs"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    source_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("harvest_sources.id"), index=True)
    # running → succeeded (listed completely), incomplete (stopped mid-way, or not all seen:
    # nothing deleted), failed (the source could not be read at all) or interrupted (the
    # replica running it stopped).
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    deleted: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    # Why the run stopped or did not delete: code, detail, detail_en (and an HTTP status).
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # One entry per dataset that failed: remote_id, code, detail, detail_en.
    failures: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class HarvestRecord(Base):
    """A dataset harvested from a source: which remote dataset it is, and what was read of it
    last (its digest), so that an unchanged one is left alone."""

    __tablename__ = "harvest_records"

    source_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("harvest_sources.id"), primary_key=True)
    remote_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    # The remote dataset's address or identifier: the same from any source that lists it, so
    # that two sources never bring it twice.
    identity: Mapped[str] = mapped_column(String(1000), unique=True)
    dataset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("datasets.id"), unique=True)
    remote_modified: Mapped[datetime | None] = mapped_column(UTCDateTime)
    digest: Mapped[str] = mapped_column(String(64))
    last_seen_run: Mapped[uuid.UUID | None] = mapped_column()
    harvested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    source: Mapped[HarvestSource] = relationship(lazy="selectin", viewonly=True)
