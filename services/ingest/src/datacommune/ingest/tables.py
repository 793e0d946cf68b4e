"""ingest's own tables: uploads, the organizations it accepts tokens from, dataset claims."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from datacommune.shared.credentials import DelegationRecord, OrganizationRecord, TokenRecord
from datacommune.shared.db import UTCDateTime
from datacommune.shared.outbox import OutboxRecord, utcnow


class Base(DeclarativeBase):
    """ingest's metadata, apart from every other service's."""


class Organization(OrganizationRecord, Base):
    """An organization as catalog announced it; ingest keeps it to check tokens offline."""

    __tablename__ = "organizations"


class Dataset(Base):
    """Which organization a dataset slug belongs to: the first to upload to it claims it."""

    __tablename__ = "datasets"

    slug: Mapped[str] = mapped_column(String(100), primary_key=True)
    organization: Mapped[str] = mapped_column(ForeignKey("organizations.slug"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Upload(Base):
    """One file posted to a dataset, and where it stands on its way to the catalogue."""

    __tablename__ = "uploads"
    __table_args__ = (UniqueConstraint("dataset", "sha256", "variant", name="uq_upload_bytes"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organization: Mapped[str] = mapped_column(ForeignKey("organizations.slug"), index=True)
    dataset: Mapped[str] = mapped_column(ForeignKey("datasets.slug"), index=True)
    title: Mapped[str | None] = mapped_column(String(300))
    schema_id: Mapped[str | None] = mapped_column(String(200))
    # Part of the uniqueness of an upload: the same bytes read another way (another schema,
    # encoding or delimiter) are another upload. See uploads.variant().
    variant: Mapped[str] = mapped_column(String(300), default="")
    # The reading choices (encoding, delimiter, fix, mapping) the variant stands for.
    options: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    filename: Mapped[str] = mapped_column(String(1024))
    media_type: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    object_key: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default="received")
    report_key: Mapped[str | None] = mapped_column(String(300))
    # The report's other shapes (html, validata) -> object key.
    report_renditions: Mapped[dict[str, str] | None] = mapped_column(JSON)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    detail: Mapped[str | None] = mapped_column(Text)
    download_url: Mapped[str | None] = mapped_column(String(1000))
    # The organization that uploaded it when it published for ``organization`` (delegation),
    # and the token it used.
    uploaded_by: Mapped[str | None] = mapped_column(String(64), index=True)
    token_id: Mapped[uuid.UUID | None] = mapped_column()
    # On the hub: the ingest node it came from (None: uploaded here).
    node: Mapped[str | None] = mapped_column(String(64), index=True)
    # The release a scheduled upload waits for.
    release_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ColumnMapping(Base):
    """A column mapping an organization confirmed for a dataset and a schema."""

    __tablename__ = "column_mappings"

    dataset: Mapped[str] = mapped_column(ForeignKey("datasets.slug"), primary_key=True)
    schema_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    columns: Mapped[dict[str, str]] = mapped_column(JSON)
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Outbox(OutboxRecord, Base):
    """Events ingest has yet to publish, committed with the change that caused them."""

    __tablename__ = "outbox"


class Token(TokenRecord, Base):
    """A token as catalog announced it (its hash, role, expiry, revocation)."""

    __tablename__ = "tokens"


class Delegation(DelegationRecord, Base):
    """An organization that lets another publish for it, as catalog announced it."""

    __tablename__ = "delegations"


class Release(Base):
    """A release plan as events announced it, offered on the upload page (« publier au conseil
    municipal du 12 mars »); the newest ``changed_at`` wins."""

    __tablename__ = "releases"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    organization: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16))
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    timezone: Mapped[str] = mapped_column(String(64))
    local_event_title: Mapped[str | None] = mapped_column(String(300))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class KnownSchema(Base):
    """A schema validate checks files against, as it announced them (``schemas.announced``):
    the upload page offers them by name. The newest announcement replaces the list."""

    __tablename__ = "known_schemas"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    version: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(500))
    fields: Mapped[list[str]] = mapped_column(JSON)
    announced_at: Mapped[datetime] = mapped_column(UTCDateTime)
