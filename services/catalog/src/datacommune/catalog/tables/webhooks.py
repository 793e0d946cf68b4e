"""Webhook subscriptions and their deliveries."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from datacommune.catalog.tables.base import Base
from datacommune.shared.db import UTCDateTime
from datacommune.shared.outbox import utcnow


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
    # The trace of the publication it announces (W3C ``traceparent``), sent on to the subscriber.
    traceparent: Mapped[str | None] = mapped_column(String(64))
