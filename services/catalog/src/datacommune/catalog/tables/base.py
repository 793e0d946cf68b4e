"""The declarative base of catalog's tables, and the outbox and processed-event tables every
service keeps."""

from sqlalchemy.orm import DeclarativeBase

from datacommune.shared.outbox import OutboxRecord, ProcessedEventRecord


class Base(DeclarativeBase):
    """catalog's metadata, apart from every other service's."""


class Outbox(OutboxRecord, Base):
    """Events catalog has yet to publish."""

    __tablename__ = "outbox"


class ProcessedEvent(ProcessedEventRecord, Base):
    """Events catalog has applied, so a redelivery changes nothing."""

    __tablename__ = "processed_events"
