"""What the pooled-data API answers."""

from pydantic import BaseModel, Field


class PoolSource(BaseModel):
    """Un fichier mutualisé / a pooled file: the version whose rows the pool holds."""

    organization: str
    dataset: str
    resource: str
    version: str
    rows: int = Field(description="Lignes apportées (doublons exacts comptés une fois).")
    since: int = Field(description="La version mutualisée où ce fichier est entré.")


class PoolChange(BaseModel):
    """Ce qu'une version a changé pour un fichier / what a version changed for one file."""

    resource: str
    organization: str | None = None
    dataset: str | None = None
    version: str | None = Field(default=None, description="La version du fichier entrée.")
    added: int
    removed: int
    conflicts: list[str] = Field(default_factory=list)
    unreadable: bool = Field(
        default=False, description="Son fichier n'a pas pu être lu (absent du stockage)."
    )


class PoolVersion(BaseModel):
    """Une version mutualisée / one consolidated version."""

    number: int
    version_id: str
    download_url: str
    rows: int
    sources: int
    created_at: str
    changes: list[PoolChange]


class Pool(BaseModel):
    """Des données mutualisées / pooled data: one schema over one territory."""

    slug: str
    url: str | None = Field(description="Le jeu de données mutualisé (None avant sa 1re version).")
    territory: str
    schema_name: str = Field(alias="schema")
    major: int
    schema_id: str | None
    columns: list[str]
    primary_key: list[str]
    number: int


class PoolDetail(Pool):
    """Avec ses sources, les organisations du territoire qui n'y contribuent pas encore, ses
    conflits de clé et ses versions / with its sources, the territory's organizations not
    contributing yet, its key conflicts and its versions."""

    sources: list[PoolSource]
    contributing: list[str]
    not_contributing: list[str]
    conflicts: list[str] = Field(
        description="Clés primaires présentes dans plusieurs fichiers (jamais résolues ici)."
    )
    versions: list[PoolVersion]


class Pools(BaseModel):
    items: list[Pool]
