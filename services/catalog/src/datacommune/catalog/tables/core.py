"""Datasets, resources and their immutable versions, the releases that opened them, their
download counts and the resources a harvest points to elsewhere."""

import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from datacommune.catalog.tables.base import Base
from datacommune.shared.db import UTCDateTime
from datacommune.shared.outbox import utcnow

if TYPE_CHECKING:
    from datacommune.catalog.tables.harvest import HarvestRecord
    from datacommune.catalog.tables.rows import RowTable


class Dataset(Base):
    """A dataset of one organization, made of resources."""

    __tablename__ = "datasets"
    # Counting the public datasets (the unfiltered search total) reads this small index only.
    __table_args__ = (
        Index(
            "ix_datasets_public_id",
            "id",
            postgresql_where=text("public"),
            sqlite_where=text("public"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    organization: Mapped[str] = mapped_column(ForeignKey("organizations.slug"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    # DCAT-AP (FR) properties a reuser filters and harvesters read.
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    theme: Mapped[str | None] = mapped_column(String(16), index=True)
    licence: Mapped[str] = mapped_column(String(64), default="etalab-2.0", index=True)
    contact_point: Mapped[str | None] = mapped_column(String(300))
    spatial: Mapped[list[str] | None] = mapped_column(JSON)
    temporal_start: Mapped[date | None] = mapped_column(Date)
    temporal_end: Mapped[date | None] = mapped_column(Date)
    frequency: Mapped[str | None] = mapped_column(String(32))
    # Stemmed, unaccented words the dataset is found by (see search/index.py).
    search_text: Mapped[str] = mapped_column(Text, default="")
    # Those of its title alone: relevance ranks the datasets a search finds by title first.
    title_words: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Its schema and format facet values, one `facet=value` a line (None until indexed), so
    # that facet counts over a search read the matching rows only (see search/index.py).
    facet_values: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    # Whether anyone may see it: true once one of its versions is public (see core/visibility.py).
    public: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())

    # Only what is public: every read path walks these, so none can forget the embargo.
    resources: Mapped[list["Resource"]] = relationship(
        primaryjoin="and_(Resource.dataset_id == Dataset.id, Resource.public)",
        order_by="Resource.created_at",
        lazy="selectin",
        viewonly=True,
    )
    # A harvested dataset's files, which stay at their source (see harvest/runs.py); empty for a
    # dataset published here. Public with their dataset: harvesting knows no embargo.
    remote_resources: Mapped[list["RemoteResource"]] = relationship(
        order_by="RemoteResource.position",
        lazy="selectin",
        viewonly=True,
    )
    # Where a harvested dataset comes from; None for a dataset published here.
    harvest: Mapped["HarvestRecord | None"] = relationship(
        lazy="selectin", viewonly=True, uselist=False
    )


class Resource(Base):
    """A file of a dataset, followed across its versions (e.g. « subventions-2024 »)."""

    __tablename__ = "resources"
    __table_args__ = (UniqueConstraint("dataset_id", "key", name="uq_resource_key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    dataset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("datasets.id"), index=True)
    key: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    public: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())

    dataset: Mapped[Dataset] = relationship()
    # Only the public versions (see Dataset.resources).
    versions: Mapped[list["Version"]] = relationship(
        primaryjoin="and_(Version.resource_id == Resource.id, Version.public)",
        order_by="Version.number",
        lazy="selectin",
        viewonly=True,
    )


class Version(Base):
    """One published upload of a resource; never changed once written."""

    __tablename__ = "versions"
    __table_args__ = (UniqueConstraint("resource_id", "number", name="uq_version_number"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    resource_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("resources.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    upload_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    object_key: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    filename: Mapped[str] = mapped_column(String(1024))
    media_type: Mapped[str] = mapped_column(String(200))
    # The text encoding of the published bytes (IANA name), sent as the download's charset;
    # None when not text or not known (versions published before it was recorded).
    charset: Mapped[str | None] = mapped_column(String(40))
    schema_id: Mapped[str | None] = mapped_column(String(200))
    # Where that schema version is published (schema.data.gouv.fr's address when it lists it):
    # the DCAT feed's conformsTo, which data.gouv.fr matches character for character.
    schema_url: Mapped[str | None] = mapped_column(String(500))
    valid: Mapped[bool] = mapped_column(Boolean)
    # The schema's checks that could not run (then ``valid`` is false without any error): the
    # page says « conforme sauf vérifications non faites » and names them.
    unchecked: Mapped[list[str] | None] = mapped_column(JSON)
    report_key: Mapped[str] = mapped_column(String(300))
    # When the published file is the safe repair of the upload: the upload as sent, and the
    # full list of what was changed.
    original_object_key: Mapped[str | None] = mapped_column(String(300))
    original_sha256: Mapped[str | None] = mapped_column(String(64))
    original_size: Mapped[int | None] = mapped_column(BigInteger)
    original_filename: Mapped[str | None] = mapped_column(String(1024))
    original_media_type: Mapped[str | None] = mapped_column(String(200))
    original_charset: Mapped[str | None] = mapped_column(String(40))
    changes_key: Mapped[str | None] = mapped_column(String(300))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Who uploaded it, when an organization published for another (a delegated EPCI), and
    # with which token.
    uploaded_by: Mapped[str | None] = mapped_column(String(64))
    token_id: Mapped[uuid.UUID | None] = mapped_column()
    # Embargo: a version waiting for its release is recorded but not public; it becomes public
    # with every other version of that release, in one transaction (see core/visibility.py).
    public: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())
    release_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    # When it became public: its publication, or its release's opening.
    public_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    resource: Mapped[Resource] = relationship()
    row_table: Mapped["RowTable | None"] = relationship(lazy="selectin")


class OpenedRelease(Base):
    """A release catalog has opened: versions arriving later for it are public at once."""

    __tablename__ = "opened_releases"

    release_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    organization: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    local_event_title: Mapped[str | None] = mapped_column(String(300))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When catalog applied it: opened_at plus the bus's delay; empty while its due time has
    # not come by catalog's own clock (a scheduler's clock ran ahead).
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    versions: Mapped[int] = mapped_column(Integer, default=0)
    # The trace of the opening (W3C ``traceparent``): applying it, even later by catalog's
    # clock, and the webhooks it sends carry it on.
    traceparent: Mapped[str | None] = mapped_column(String(64))


class DownloadCount(Base):
    """How many times a version was downloaded on a day: a counter, nothing about who."""

    __tablename__ = "download_counts"

    version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("versions.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class RemoteResource(Base):
    """A file of a harvested dataset: a link to where its source serves it (the bytes are
    never copied here)."""

    __tablename__ = "remote_resources"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    dataset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("datasets.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    url: Mapped[str] = mapped_column(String(2000))
    # Our format label (csv, json, geojson…), lower-case: the format facet and filter.
    format: Mapped[str | None] = mapped_column(String(32))
    media_type: Mapped[str | None] = mapped_column(String(200))
    size: Mapped[int | None] = mapped_column(BigInteger)
