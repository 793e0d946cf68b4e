"""catalog's own tables: organizations, datasets, resources and their immutable versions."""

import uuid
from datetime import date, datetime
from typing import Any

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
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from datacommune.shared.credentials import DelegationRecord, OrganizationRecord, TokenRecord
from datacommune.shared.db import UTCDateTime
from datacommune.shared.outbox import OutboxRecord, ProcessedEventRecord, utcnow


class Base(DeclarativeBase):
    """catalog's metadata, apart from every other service's."""


class Organization(OrganizationRecord, Base):
    """A collectivité that publishes: commune, EPCI, département, syndicat…

    ``token_hash`` is the token it was created with (an admin token, also in ``tokens``)."""

    __tablename__ = "organizations"

    kind: Mapped[str] = mapped_column(String(32))
    siren: Mapped[str | None] = mapped_column(String(9))
    insee_code: Mapped[str | None] = mapped_column(String(5))
    # The territory above: a commune's EPCI, an EPCI's département.
    parent: Mapped[str | None] = mapped_column(ForeignKey("organizations.slug"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


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
    # Stemmed, unaccented words the dataset is found by (see search.py).
    search_text: Mapped[str] = mapped_column(Text, default="")
    # Its schema and format facet values, one `facet=value` a line (None until indexed), so
    # that facet counts over a search read the matching rows only (see search.py).
    facet_values: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    # Whether anyone may see it: true once one of its versions is public (see visibility.py).
    public: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())

    # Only what is public: every read path walks these, so none can forget the embargo.
    resources: Mapped[list["Resource"]] = relationship(
        primaryjoin="and_(Resource.dataset_id == Dataset.id, Resource.public)",
        order_by="Resource.created_at",
        lazy="selectin",
        viewonly=True,
    )
    # A harvested dataset's files, which stay at their source (see harvests.py); empty for a
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
    schema_id: Mapped[str | None] = mapped_column(String(200))
    valid: Mapped[bool] = mapped_column(Boolean)
    report_key: Mapped[str] = mapped_column(String(300))
    # When the published file is the safe repair of the upload: the upload as sent, and the
    # full list of what was changed.
    original_object_key: Mapped[str | None] = mapped_column(String(300))
    original_sha256: Mapped[str | None] = mapped_column(String(64))
    original_size: Mapped[int | None] = mapped_column(BigInteger)
    original_filename: Mapped[str | None] = mapped_column(String(1024))
    original_media_type: Mapped[str | None] = mapped_column(String(200))
    changes_key: Mapped[str | None] = mapped_column(String(300))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Who uploaded it, when an organization published for another (a delegated EPCI), and
    # with which token.
    uploaded_by: Mapped[str | None] = mapped_column(String(64))
    token_id: Mapped[uuid.UUID | None] = mapped_column()
    # Embargo: a version waiting for its release is recorded but not public; it becomes public
    # with every other version of that release, in one transaction (see visibility.py).
    public: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())
    release_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    # When it became public: its publication, or its release's opening.
    public_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    resource: Mapped[Resource] = relationship()
    row_table: Mapped["RowTable | None"] = relationship(lazy="selectin")


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


class DownloadCount(Base):
    """How many times a version was downloaded on a day: a counter, nothing about who."""

    __tablename__ = "download_counts"

    version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("versions.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class DataRequest(Base):
    """A reuser's request for data a territory does not publish yet."""

    __tablename__ = "data_requests"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    territory: Mapped[str | None] = mapped_column(ForeignKey("organizations.slug"), index=True)
    schema_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Vote(Base):
    """One client's vote for a request: the hash of an opaque key, nothing about who."""

    __tablename__ = "votes"

    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("data_requests.id"), primary_key=True)
    voter_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Outbox(OutboxRecord, Base):
    """Events catalog has yet to publish."""

    __tablename__ = "outbox"


class ProcessedEvent(ProcessedEventRecord, Base):
    """Events catalog has applied, so a redelivery changes nothing."""

    __tablename__ = "processed_events"


class WebhookSubscription(Base):
    """A reuser's address told when data opens for an organization, a territory or a schema."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    url: Mapped[str] = mapped_column(String(1000))
    # The HMAC key: shown once at registration, needed to sign every delivery.
    secret: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(16))  # organization, territory or schema
    value: Mapped[str] = mapped_column(String(200), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookDelivery(Base):
    """One notification to one subscriber, and the log of trying to deliver it."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    subscription_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    # pending → delivered, or failed after the last attempt.
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Token(TokenRecord, Base):
    """A token of an organization, with its role and expiry; the token itself is never kept."""

    __tablename__ = "tokens"

    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Delegation(DelegationRecord, Base):
    """A commune that lets its EPCI (or département) publish for it."""

    __tablename__ = "delegations"

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


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
