"""events' own tables: local events, the organizations whose tokens it accepts, the outbox."""

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from datacommune.shared.credentials import OrganizationRecord, TokenRecord
from datacommune.shared.db import UTCDateTime
from datacommune.shared.outbox import OutboxRecord, utcnow


class Base(DeclarativeBase):
    """events' metadata, apart from every other service's."""


class Organization(OrganizationRecord, Base):
    """An organization as catalog announced it, kept to check tokens and to know territories."""

    __tablename__ = "organizations"

    parent: Mapped[str | None] = mapped_column(String(64))


class LocalEvent(Base):
    """A council meeting, hackathon or fair: an instant in UTC and the zone it happens in."""

    __tablename__ = "local_events"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organization: Mapped[str] = mapped_column(ForeignKey("organizations.slug"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(32))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    timezone: Mapped[str] = mapped_column(String(64))
    location: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # planned, moved (its start changed since it was announced), cancelled.
    status: Mapped[str] = mapped_column(String(16), default="planned")
    # From an iCalendar import: the series' UID and, for one occurrence, its RECURRENCE-ID.
    uid: Mapped[str | None] = mapped_column(String(300), index=True)
    recurrence_id: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Release(Base):
    """A bundle of dataset versions that opens at one moment: a local event's start (plus an
    offset), or a fixed time. ``due_at`` is recomputed whenever the event moves."""

    __tablename__ = "releases"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organization: Mapped[str] = mapped_column(ForeignKey("organizations.slug"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    local_event_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("local_events.id", ondelete="SET NULL"), index=True
    )
    offset_minutes: Mapped[int] = mapped_column(Integer, default=0)
    fixed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Paris")
    # The instant it opens; None while held (its event cancelled or removed).
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # scheduled → opened, or held (event cancelled) → scheduled again, or withdrawn.
    status: Mapped[str] = mapped_column(String(16), default="scheduled", index=True)
    # May its coming be announced (title and date only) before it opens?
    announce: Mapped[bool] = mapped_column(Boolean, default=False)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # opened_at − due_at: how late it opened (a scheduler down, the database away…).
    delay_seconds: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ReleaseContent(Base):
    """A dataset version catalog holds for a release, as ``resource.published.v1`` told: what
    will open, so an organization can check before its council meeting that its files are in."""

    __tablename__ = "release_contents"

    version_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    release_id: Mapped[uuid.UUID] = mapped_column(index=True)
    organization: Mapped[str] = mapped_column(String(64))
    dataset: Mapped[str] = mapped_column(String(200))
    download_url: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Outbox(OutboxRecord, Base):
    """Events this service has yet to publish."""

    __tablename__ = "outbox"


class Token(TokenRecord, Base):
    """A token as catalog announced it (its hash, role, expiry, revocation)."""

    __tablename__ = "tokens"
