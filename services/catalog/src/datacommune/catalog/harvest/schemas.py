"""The JSON answers of the harvest routes, as the OpenAPI document shows them. Times are the
ISO 8601 strings the answers have always carried (``datetime.isoformat``)."""

from typing import Any

from pydantic import BaseModel, Field


class HarvestCounts(BaseModel):
    """What a run did to the remote datasets it listed."""

    created: int
    updated: int
    unchanged: int
    deleted: int
    failed: int = Field(
        description="Tous les échecs, même ceux au-delà du journal / every failure, "
        "even those past the log"
    )


class HarvestRun(BaseModel):
    """One harvest of a source, and its log."""

    id: str
    source: str
    status: str = Field(
        description="running, succeeded, incomplete, failed ou/or interrupted",
        examples=["succeeded"],
    )
    started_at: str
    finished_at: str | None = Field(description="Aucune tant qu'il tourne / none while running")
    counts: HarvestCounts
    # Stored as JSON with the run: kept as written, whatever its keys.
    error: dict[str, Any] | None = Field(
        description="Pourquoi le passage s'est arrêté ou n'a rien supprimé : code, detail, "
        "detail_en (et url, status pour une source illisible) / why the run stopped or did not "
        "delete: code, detail, detail_en (and url, status for a source that could not be read)",
        examples=[
            {
                "code": "listing-truncated",
                "detail": "Le portail ne laisse pas lire plus loin…",
                "detail_en": "The portal does not let us read further…",
            }
        ],
    )
    failures: list[dict[str, Any]] = Field(
        description="Chaque jeu en échec (les 1000 premiers) : remote_id, code, detail, "
        "detail_en / each dataset that failed (the first 1000)",
        examples=[
            [
                {
                    "remote_id": "budget-2024",
                    "code": "malformed-record",
                    "detail": "Cette fiche n'a pas la forme attendue de l'API…",
                    "detail_en": "This record does not have the API's expected shape…",
                }
            ]
        ],
    )


class HarvestRuns(BaseModel):
    items: list[HarvestRun] = Field(description="Du plus récent / newest first")


class HarvestSource(BaseModel):
    """A portal or catalogue an organization has harvested, and its last run."""

    id: str
    organization: str
    kind: str = Field(description="ckan, opendatasoft ou/or dcat", examples=["ckan"])
    url: str
    filter: str | None = Field(
        description="CKAN : un `fq` ; OpenDataSoft : un `where` / CKAN's `fq`, OpenDataSoft's "
        "`where`"
    )
    interval_hours: float
    next_run_at: str
    running: bool = Field(description="Un passage est en cours / a run is under way")
    created_at: str
    last_run: HarvestRun | None = Field(
        description="Aucun avant le premier / none before the first"
    )


class HarvestSources(BaseModel):
    items: list[HarvestSource]


class HarvestSourceDeleted(BaseModel):
    id: str
    deleted_datasets: int = Field(
        description="Les jeux qu'elle avait apportés, retirés avec elle / "
        "the datasets it brought, removed with it"
    )


class HarvestRunStarted(BaseModel):
    """A run started now; its log is at ``runs_url``."""

    run: str
    status: str = Field(examples=["running"])
    runs_url: str
