"""The JSON answers of ingest's routes, as the OpenAPI document shows them. Times are the ISO
8601 strings the answers have always carried (``datetime.isoformat``).

A report, and the summary an upload keeps of it, are sent as they were stored: validate wrote
them, perhaps a version of it that knew fewer keys, and a report's keys are in the order it
added them. They are documented with the types of ``datacommune.shared.report`` but pass
through unchecked (``AsStored``), so no stored report is ever refused or rewritten on its way
out.
"""

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, Field, GetJsonSchemaHandler, TypeAdapter
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from datacommune.shared import report


@dataclass(frozen=True)
class AsStored:
    """Metadata for a stored JSON object: any object passes as it is, and the OpenAPI document
    shows it as ``shape``."""

    shape: Any

    def __get_pydantic_json_schema__(
        self, _: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        shape = TypeAdapter(self.shape).core_schema
        if "ref" not in shape:
            return handler(shape)
        # Wrapped as a reference to itself, so that the document names it once (a component)
        # and refers to it, rather than copying it here.
        return handler(
            core_schema.definitions_schema(
                core_schema.definition_reference_schema(shape["ref"]), [shape]
            )
        )


Stored = Annotated[dict[str, Any], AsStored(report.Report)]
StoredSummary = Annotated[dict[str, Any], AsStored(report.Summary)]


class Upload(BaseModel):
    """An upload and where it stands on its way to the catalogue."""

    id: str
    status: str = Field(
        description="received, validating, valid, invalid, scheduled (embargoed until its "
        "release opens), published, rejected",
        examples=["valid"],
    )
    status_url: str
    page_url: str = Field(
        description="La page du dépôt et de son rapport, dans l'espace de l'organisation / the "
        "upload's page with its report, in the organization's space"
    )
    organization: str
    dataset: str
    title: str | None
    schema_id: str | None = Field(alias="schema", examples=["scdl-subventions"])
    filename: str
    media_type: str
    size: int
    sha256: str
    summary: StoredSummary | None = Field(description="The report's counts, once checked")
    detail: str | None = Field(description="Why it was rejected, or why its release is held")
    download_url: str | None
    created_at: str
    updated_at: str


class UploadReceived(Upload):
    duplicate: bool = Field(description="Ces octets étaient déjà déposés / already uploaded")


class UploadWithReport(Upload):
    report: Stored | None = Field(description="The validation report, once there is one")


class UploadRemapped(Upload):
    """The upload checked again with the confirmed column mapping."""

    mapping: dict[str, str] = Field(description="File column -> schema field")


class Whoami(BaseModel):
    organization: str
    name: str


class Node(BaseModel):
    """An ingest node as the hub sees it: its link, and what waits on it."""

    node: str
    lag_messages: int | None = Field(description="Messages the hub has yet to copy")
    last_contact_seconds: float | None
    files_waiting: int | None
    oldest_waiting_seconds: float | None
    last_heartbeat: str | None
    reachable: bool


class Nodes(BaseModel):
    items: list[Node]
