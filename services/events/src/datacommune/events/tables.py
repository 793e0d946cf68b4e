"""events' own tables: local events, the organizations whose tokens it accepts, the outbox."""

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from datacommune.shared.credentials import OrganizationRecord
from datacommune.shared.db import UTCDateTime
from datacommune.shared.outbox import OutboxRecord, utcnow


class Base(DeclarativeBase):
    """events' metadata, apart from every other service's."""


class Organization(OrganizationRecord, Base):
    """An organization as catalog announced it, kept to check tokens."""

    __tablename__ = "organizations"


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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Outbox(OutboxRecord, Base):
    """Events this service has yet to publish."""

    __tablename__ = "outbox"
