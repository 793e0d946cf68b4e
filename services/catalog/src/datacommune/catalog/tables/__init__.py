"""catalog's tables, one module per domain, in one registry: relationships cross domains (a
dataset's harvest record, a version's row table), so every table is mapped whatever is imported."""

from datacommune.catalog.tables.access import Delegation, Organization, Token
from datacommune.catalog.tables.base import Base, Outbox, ProcessedEvent
from datacommune.catalog.tables.core import (
    Dataset,
    DownloadCount,
    OpenedRelease,
    RemoteResource,
    Resource,
    Version,
)
from datacommune.catalog.tables.harvest import HarvestRecord, HarvestRun, HarvestSource
from datacommune.catalog.tables.places import Place
from datacommune.catalog.tables.pooling import (
    Pool,
    PoolChange,
    PoolRow,
    PoolSegment,
    PoolSource,
    PoolVersion,
)
from datacommune.catalog.tables.requests import DataRequest, Vote
from datacommune.catalog.tables.rows import RowExport, RowTable
from datacommune.catalog.tables.search import DatasetFacet, SearchCount
from datacommune.catalog.tables.webhooks import WebhookDelivery, WebhookSubscription

__all__ = [
    "Base",
    "DataRequest",
    "Dataset",
    "DatasetFacet",
    "Delegation",
    "DownloadCount",
    "SearchCount",
    "HarvestRecord",
    "HarvestRun",
    "HarvestSource",
    "OpenedRelease",
    "Organization",
    "Outbox",
    "Place",
    "Pool",
    "PoolChange",
    "PoolRow",
    "PoolSegment",
    "PoolSource",
    "PoolVersion",
    "ProcessedEvent",
    "RemoteResource",
    "Resource",
    "RowExport",
    "RowTable",
    "Token",
    "Version",
    "Vote",
    "WebhookDelivery",
    "WebhookSubscription",
]
