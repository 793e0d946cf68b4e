"""The JSON answers of the data-request routes, as the OpenAPI document shows them. Times are the
ISO 8601 strings the answers have always carried (``datetime.isoformat``)."""

from pydantic import BaseModel, Field


class DataRequest(BaseModel):
    """A reuser's request for data, and how many clients voted for it."""

    id: str
    title: str
    description: str
    territory: str | None = Field(
        description="L'organisation visée, s'il y en a une / the organization asked, if any"
    )
    # ``schema`` would shadow a (deprecated) method of BaseModel: the answer's key is its alias.
    schema_: str | None = Field(
        alias="schema",
        description="Le schéma souhaité, s'il y en a un / the schema wished for, if any",
    )
    votes: int
    created_at: str


class DataRequests(BaseModel):
    items: list[DataRequest] = Field(description="Les plus demandées d'abord / most wanted first")


class Votes(BaseModel):
    votes: int = Field(description="Les votes de la demande / the request's votes")


class CoverageRow(BaseModel):
    """One organization: what it publishes for each standard schema, and what it lacks."""

    slug: str
    name: str
    kind: str
    publishes: dict[str, list[str]] = Field(
        description="Par schéma, les jeux de données publiés / per schema, the datasets published"
    )
    lacks: list[str] = Field(
        description="Les schémas sans jeu publié / the schemas with no dataset published"
    )


class Coverage(BaseModel):
    """Organizations × standard schemas."""

    schemas: list[str] = Field(
        description="Les schémas publiés quelque part / the schemas published somewhere"
    )
    pools: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Par schéma, les données mutualisées du territoire (une par version majeure) "
        "/ per schema, the territory's pooled datasets (one per major version)",
    )
    organizations: list[CoverageRow]
