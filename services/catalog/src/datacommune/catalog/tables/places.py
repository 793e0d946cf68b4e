"""The communes' reference: the name, centre and box of each INSEE code a dataset's spatial
coverage may name, as the operator loaded them (``datacommune places import``)."""

from datetime import datetime

from sqlalchemy import Float, String
from sqlalchemy.orm import Mapped, mapped_column

from datacommune.catalog.tables.base import Base
from datacommune.shared.db import UTCDateTime
from datacommune.shared.outbox import utcnow


class Place(Base):
    """A commune (or any place with an INSEE code), in WGS 84 degrees."""

    __tablename__ = "places"

    insee_code: Mapped[str] = mapped_column(String(5), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    longitude: Mapped[float] = mapped_column(Float)
    latitude: Mapped[float] = mapped_column(Float)
    # The bounding box, when the reference gives one (a centre alone is a point, not a box).
    west: Mapped[float | None] = mapped_column(Float)
    south: Mapped[float | None] = mapped_column(Float)
    east: Mapped[float | None] = mapped_column(Float)
    north: Mapped[float | None] = mapped_column(Float)
    # Where the figures come from, as the operator named it (shown in the API and the feed).
    source: Mapped[str] = mapped_column(String(300))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
