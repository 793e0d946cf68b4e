"""validate's own tables: one row per checked upload, and the outbox."""

import uuid
from datetime import datetime

from sqlalchemy import Boolean, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from datacommune.shared.db import UTCDateTime
from datacommune.shared.outbox import OutboxRecord, utcnow


class Base(DeclarativeBase):
    """validate's metadata, apart from every other service's."""


class Validation(Base):
    """An upload validate has checked; its presence makes a redelivery a no-op."""

    __tablename__ = "validations"

    upload_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    schema_id: Mapped[str | None] = mapped_column(String(200))
    valid: Mapped[bool] = mapped_column(Boolean)
    publishable: Mapped[bool] = mapped_column(Boolean)
    report_key: Mapped[str] = mapped_column(String(300))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Outbox(OutboxRecord, Base):
    """Events validate has yet to publish."""

    __tablename__ = "outbox"
