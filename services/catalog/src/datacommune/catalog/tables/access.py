"""Organizations, their tokens and the delegations between them."""

from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from datacommune.catalog.tables.base import Base
from datacommune.shared.credentials import DelegationRecord, OrganizationRecord, TokenRecord
from datacommune.shared.db import UTCDateTime
from datacommune.shared.outbox import utcnow


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


class Token(TokenRecord, Base):
    """A token of an organization, with its role and expiry; the token itself is never kept."""

    __tablename__ = "tokens"

    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Delegation(DelegationRecord, Base):
    """A commune that lets its EPCI (or département) publish for it."""

    __tablename__ = "delegations"

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
