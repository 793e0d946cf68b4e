"""Data requests and their votes."""

import uuid
from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from datacommune.catalog.tables.base import Base
from datacommune.shared.db import UTCDateTime
from datacommune.shared.outbox import utcnow


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
