"""Event contracts between the services: one frozen class per event, its NATS subject is its type.

Adding an optional field keeps the version; consumers ignore fields they do not know. A breaking
change gets a new ``…v2`` class, published beside the old one until every consumer has moved.
The JSON Schema of every contract is committed in ``schemas/events.json`` and checked by a test.
"""

from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


def _now() -> datetime:
    return datetime.now(UTC)


class Event(BaseModel):
    """Envelope with the CloudEvents attribute names; ``id`` doubles as ``Nats-Msg-Id``."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: UUID = Field(default_factory=uuid4)
    source: str = Field(description="Service (and node) that sent the event, e.g. `ingest`.")
    time: datetime = Field(default_factory=_now)
    type: str


class FileRef(BaseModel):
    """A stored file: where it is, what it is, and its original name kept as metadata only."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    object_key: str
    sha256: str
    size: int
    filename: str = Field(description="Name given by the uploader, escaped; never used as a path.")
    media_type: str
    charset: str | None = Field(
        default=None,
        description="The text encoding of the bytes as validate read them, by its IANA name "
        "(`windows-1252`, `utf-8`); None for a file that is not text, or not read yet.",
    )


class ValidationIssue(BaseModel):
    """One finding of a validation, as frictionless describes it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    type: str
    message: str
    row: int | None = None
    field: str | None = None
    cell: str | None = None


class ReportSummary(BaseModel):
    """Exact counts of a validation report; the full report is stored beside the file."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    rows: int = 0
    errors: int = 0
    warnings: int = 0
    error_types: dict[str, int] = Field(default_factory=dict)
    warning_types: dict[str, int] = Field(default_factory=dict)
    truncated: bool = Field(default=False, description="Counts stopped at a cap: lower bounds.")


class OrganizationCreated(Event):
    """catalog has registered an organization; services that check tokens keep its hash."""

    type: Literal["organization.created.v1"] = "organization.created.v1"
    organization: str
    name: str
    kind: str
    siren: str | None = None
    insee_code: str | None = None
    token_hash: str
    parent: str | None = Field(
        default=None, description="The territory above it: a commune's EPCI, an EPCI's département."
    )


class TokenIssued(Event):
    """catalog has issued a token to an organization; services that check tokens keep its hash."""

    type: Literal["token.issued.v1"] = "token.issued.v1"
    token_id: UUID
    organization: str
    role: str = Field(description="`viewer`, `publisher` or `admin`.")
    token_hash: str
    expires_at: datetime | None = None


class TokenRevoked(Event):
    """A token no longer opens anything (from when each service hears of it)."""

    type: Literal["token.revoked.v1"] = "token.revoked.v1"
    token_id: UUID
    organization: str
    token_hash: str | None = Field(
        default=None, description="So a service that never saw the token still refuses it."
    )


class DelegationGranted(Event):
    """``organization`` lets ``delegate``'s administrators publish for it."""

    type: Literal["delegation.granted.v1"] = "delegation.granted.v1"
    organization: str
    delegate: str


class DelegationRevoked(Event):
    """``organization`` no longer lets ``delegate`` publish for it."""

    type: Literal["delegation.revoked.v1"] = "delegation.revoked.v1"
    organization: str
    delegate: str


class FileReceived(Event):
    """ingest has stored an uploaded file durably and recorded it; validation may start."""

    type: Literal["file.received.v1"] = "file.received.v1"
    upload_id: UUID
    organization: str
    dataset: str
    title: str | None = None
    schema_id: str | None = None
    file: FileRef
    encoding: str | None = Field(default=None, description="The uploader's override, e.g. cp1252.")
    delimiter: str | None = Field(default=None, description="The uploader's override, e.g. `;`.")
    fix: bool = Field(
        default=False, description="Publish the safely repaired file if there is one."
    )
    mapping: dict[str, str] | None = Field(
        default=None,
        description="Confirmed column mapping (file column -> schema field); implies `fix`.",
    )
    release_id: UUID | None = Field(
        default=None, description="The release this file waits for: embargoed until it opens."
    )
    uploaded_by: str | None = Field(
        default=None,
        description="The organization that uploaded it, when it published for `organization`.",
    )
    token_id: UUID | None = Field(default=None, description="The token it was uploaded with.")


class FileValidationStarted(Event):
    """validate has begun checking a file (a progress signal; losing it loses nothing)."""

    type: Literal["file.validation_started.v1"] = "file.validation_started.v1"
    upload_id: UUID


class TableField(BaseModel):
    """A column of a published table, with its Table Schema type."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str
    type: str = Field(default="string", description="`string`, `integer`, `number`, `date`…")
    format: str = Field(default="default", description="Its Table Schema format, e.g. `%d/%m/%Y`.")


class GeoColumns(BaseModel):
    """Where a table keeps its coordinates (WGS 84), if it does."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    latitude: str | None = None
    longitude: str | None = None
    point: str | None = Field(default=None, description="A `geopoint` column.")
    point_format: str = Field(
        default="default",
        description="The geopoint's Table Schema format, or `latlon`: the text `lat, lon`.",
    )
    geometry: str | None = Field(default=None, description="A column of geometries.")
    geometry_format: Literal["geojson", "wkt"] = "geojson"
    found: Literal["schema", "type", "name", "values"] = Field(
        default="name",
        description="How the columns were found: the schema's `french-gps-coordinates` check, "
        "a field type, the column names, or their values.",
    )


class TableShape(BaseModel):
    """How to read the published file as a table: what the row API loads."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    encoding: str = "utf-8"
    bom_bytes: int = Field(default=0, description="Bytes of byte-order mark to skip.")
    delimiter: str = ","
    fields: list[TableField]
    geo: GeoColumns | None = None
    primary_key: list[str] = Field(
        default_factory=list,
        description="The schema's primary key (field names), when it declares one: pooled data "
        "reports two sources sharing a key.",
    )


class FileValidated(Event):
    """validate has checked a file and stored its report, whether the file is valid or not."""

    type: Literal["file.validated.v1"] = "file.validated.v1"
    upload_id: UUID
    organization: str
    dataset: str
    title: str | None = None
    schema_id: str | None = Field(
        default=None, description="Resolved id, e.g. `scdl-subventions@2.1.1`."
    )
    schema_url: str | None = Field(
        default=None,
        description="Where that schema version is published (schema.data.gouv.fr's address "
        "when it lists it), as national catalogues match it.",
    )
    file: FileRef = Field(description="The file to publish: the repaired one when repairs applied.")
    original: FileRef | None = Field(
        default=None, description="The file as uploaded, when `file` is its repaired version."
    )
    changes_key: str | None = Field(
        default=None, description="The full list of repairs (JSON), when `original` is set."
    )
    valid: bool
    publishable: bool = Field(description="True when catalog may publish the file.")
    unchecked: list[str] = Field(
        default_factory=list,
        description="Checks the schema declares that could not run; while there is one, "
        "`valid` is false even without an error.",
    )
    report_key: str
    renditions: dict[str, str] = Field(
        default_factory=dict,
        description="Other shapes of the report stored beside it: `html`, `validata` → key.",
    )
    summary: ReportSummary
    issues: list[ValidationIssue] = Field(
        default_factory=list, description="The first findings only; `summary` holds exact counts."
    )
    table: TableShape | None = Field(
        default=None, description="How to read `file` as rows, when it is a CSV table."
    )
    release_id: UUID | None = Field(
        default=None, description="The release this file waits for: embargoed until it opens."
    )
    uploaded_by: str | None = None
    token_id: UUID | None = None


class ResourcePublished(Event):
    """catalog has made a version of a resource public (or recorded it again, idempotently)."""

    type: Literal["resource.published.v1"] = "resource.published.v1"
    upload_id: UUID
    organization: str
    dataset: str
    resource_id: UUID
    version_id: UUID
    download_url: str
    public: bool = Field(
        default=True, description="False while the version waits for its release (embargo)."
    )
    release_id: UUID | None = None


class UploadRejected(Event):
    """catalog has refused to publish a validated file; ``reason`` is a stable code."""

    type: Literal["upload.rejected.v1"] = "upload.rejected.v1"
    upload_id: UUID
    organization: str
    dataset: str
    reason: str
    detail: str
    detail_en: str


class LocalEventData(BaseModel):
    """A council meeting, hackathon or fair to which a release can be timed."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    local_event_id: UUID
    organization: str
    title: str
    kind: str
    starts_at: datetime
    timezone: str
    location: str | None = None
    ends_at: datetime | None = None
    status: str = Field(default="planned", description="`planned`, `moved` or `cancelled`.")


class LocalEventCreated(Event):
    """events has recorded a new local event."""

    type: Literal["local_event.created.v1"] = "local_event.created.v1"
    local_event: LocalEventData


class LocalEventUpdated(Event):
    """events has changed a local event (its time, title or place)."""

    type: Literal["local_event.updated.v1"] = "local_event.updated.v1"
    local_event: LocalEventData


class LocalEventDeleted(Event):
    """events has removed a local event."""

    type: Literal["local_event.deleted.v1"] = "local_event.deleted.v1"
    local_event_id: UUID
    organization: str


class ReleaseOpened(Event):
    """events has opened a release at its time: every version waiting for it becomes public,
    together. Sent once per release (its id is derived from the release's)."""

    type: Literal["release.opened.v1"] = "release.opened.v1"
    release_id: UUID
    organization: str
    title: str
    due_at: datetime
    opened_at: datetime
    local_event_title: str | None = None


class ReleaseHeld(Event):
    """A release will not open at its time: its local event was cancelled or removed."""

    type: Literal["release.held.v1"] = "release.held.v1"
    release_id: UUID
    organization: str
    title: str
    reason: str


class ReleasePlanned(Event):
    """A release plan as it now stands, sent when it is made, moved, held or withdrawn: lets
    ingest offer it to whoever uploads (« publish at the council of 12 March »). The newest
    ``changed_at`` wins; the opening itself is ``release.opened.v1``."""

    type: Literal["release.planned.v1"] = "release.planned.v1"
    release_id: UUID
    organization: str
    title: str
    status: Literal["scheduled", "held", "withdrawn", "opened"]
    opens_at: datetime | None = None
    timezone: str = "Europe/Paris"
    local_event_title: str | None = None
    changed_at: datetime


class SchemaSummary(BaseModel):
    """One schema files can be checked against, as a person chooses it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str = Field(description="What an upload names it by, e.g. `scdl-subventions`.")
    version: str = Field(description="Its newest version validate knows, e.g. `2.1.1`.")
    title: str = Field(description="Its title, e.g. `Subventions`.")
    fields: list[str] = Field(
        default_factory=list,
        description="Its fields' names, in order: the upload page matches a file's header to "
        "them before sending it.",
    )


class SchemasAnnounced(Event):
    """The schemas validate checks files against, newest version of each, announced when it
    starts (the same list again is one event: its id follows what it says). Lets ingest offer
    them on the upload page. The newest ``time`` wins."""

    type: Literal["schemas.announced.v1"] = "schemas.announced.v1"
    schemas: list[SchemaSummary]


AnyEvent = Annotated[
    OrganizationCreated
    | TokenIssued
    | TokenRevoked
    | DelegationGranted
    | DelegationRevoked
    | FileReceived
    | FileValidationStarted
    | FileValidated
    | ResourcePublished
    | UploadRejected
    | LocalEventCreated
    | LocalEventUpdated
    | LocalEventDeleted
    | ReleaseOpened
    | ReleaseHeld
    | ReleasePlanned
    | SchemasAnnounced,
    Field(discriminator="type"),
]

any_event: TypeAdapter[AnyEvent] = TypeAdapter(AnyEvent)


def parse(data: bytes | str) -> AnyEvent:
    """Decode an event from its JSON form, whatever its type."""
    return any_event.validate_json(data)


def event_types() -> list[str]:
    """Every event type (and so every NATS subject) the platform knows."""
    schema = any_event.json_schema()
    return sorted(schema["discriminator"]["mapping"])
