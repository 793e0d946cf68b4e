"""Settings blocks the services compose; each reads nested variables such as ``NATS__URL``."""

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class NatsSettings(BaseModel):
    """Where the JetStream server is, and how streams are created."""

    # One server, or a cluster's servers separated by commas (``nats://n1:4222,nats://n2:4222``):
    # a service then starts, and stays connected, while any one of them answers.
    url: str = "nats://127.0.0.1:4223"
    # One replica on a single embedded server; three on a production cluster.
    replicas: int = 1
    connect_timeout: float = 5.0
    # Node mode (an ingest node of a collectivité): this server is a leaf node with JetStream
    # domain ``node-<node>``; events go out under ``node.<node>.`` and come in, from the hub,
    # under ``nodein.<node>.`` (docs/federation.md).
    node: str | None = None
    # On the hub: the nodes whose streams it takes in (their JetStream domains are
    # ``node-<name>``), and the hub's own JetStream domain, which nodes reach it by.
    hub_nodes: list[str] = []
    hub_domain: str = "hub"


class DatabaseSettings(BaseModel):
    """The service's own database: SQLite when embedded, PostgreSQL in production."""

    url: str = "sqlite+aiosqlite:///var/service.db"
    echo: bool = False
    # PostgreSQL: connections kept open, and opened beyond them at busy moments (closed after
    # use). SQLAlchemy's 5 + 10 had a service at 8 concurrent requests open and close a
    # connection for a third of them (a new connection costs more than the query); 10 + 5
    # keeps the same ceiling per process for max_connections (docs/configuration.md).
    pool_size: int = Field(default=10, ge=1)
    max_overflow: int = Field(default=5, ge=0)


class StorageSettings(BaseModel):
    """Where files and reports are kept: a local folder, or a bucket on any S3 server."""

    backend: Literal["local", "s3"] = "local"
    root: Path = Path("var/files")
    endpoint: str = "127.0.0.1:9000"
    access_key: str = ""
    secret_key: str = ""
    bucket: str = "datacommune"
    # Naming the region spares a location request, which some S3 servers answer oddly.
    region: str = "us-east-1"
    secure: bool = False
    # Seconds to open a connection to the S3 server and to wait for its next bytes. minio's own
    # defaults (5 minutes each, five retries) keep a reader waiting minutes on a server that is
    # down; with these, it gets a 503 to retry within about a second.
    connect_timeout: float = Field(default=3.0, gt=0)
    read_timeout: float = Field(default=60.0, gt=0)


class HttpSettings(BaseModel):
    """Where a service listens."""

    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = ""
    # Seconds between two relay passes over the outbox when nothing wakes it sooner.
    outbox_poll: float = Field(default=1.0, gt=0)
    # What one request and one client may take (docs/configuration.md, « Limits on requests »).
    max_header_bytes: int = Field(default=32 * 1024, ge=4096)
    max_headers: int = Field(default=100, ge=10)
    head_timeout: float = Field(default=10.0, gt=0)
    min_body_rate: int = Field(default=1024, ge=0)
    body_rate_window: float = Field(default=10.0, gt=0)
    keep_alive_timeout: int = Field(default=5, ge=1)
    max_connections: int = Field(default=1000, ge=1)
    max_connections_per_client: int = Field(default=64, ge=1)
    requests_per_second: float = Field(default=100.0, ge=0)
    request_burst: float = Field(default=500.0, ge=1)


class OutboxSettings(BaseModel):
    """How long each service keeps what its outbox relay no longer needs (``OUTBOX__…``)."""

    # Published rows: JetStream's duplicate window (15 min), after which a row no longer serves.
    keep_sent_seconds: float = Field(default=15 * 60, ge=0)
    # Processed-event entries: the streams' 30 days, plus a day's margin.
    keep_processed_seconds: float = Field(default=31 * 24 * 3600, ge=0)
    prune_every_seconds: float = Field(default=60, gt=0)


class SiteSettings(BaseModel):
    """The public addresses of the four services, for the pages that link one to another, and
    the sign-in cookie they share (``SITE__CATALOG_URL``…)."""

    catalog_url: str = "http://127.0.0.1:8083"
    ingest_url: str = "http://127.0.0.1:8081"
    events_url: str = "http://127.0.0.1:8084"
    validate_url: str = "http://127.0.0.1:8082"
    # A parent domain when the services have their own host names (``.departement.fr``);
    # empty: the host itself, which browsers share across ports.
    cookie_domain: str = ""


class ServiceSettings(BaseSettings):
    """What every service reads; each service's ``Settings`` sets its own defaults and adds more.

    Nested values come from variables such as ``NATS__URL`` or ``DATABASE__URL``.
    """

    model_config = SettingsConfigDict(env_nested_delimiter="__", extra="ignore")

    http: HttpSettings = HttpSettings()
    nats: NatsSettings = NatsSettings()
    database: DatabaseSettings = DatabaseSettings()
    storage: StorageSettings = StorageSettings()
    outbox: OutboxSettings = OutboxSettings()
    site: SiteSettings = SiteSettings()
    # The service's name, as events give it in `source` and logs in `service`.
    source: str = "service"
