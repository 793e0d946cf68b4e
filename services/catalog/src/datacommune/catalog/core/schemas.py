"""The JSON answers of the core routes, as the OpenAPI document shows them. Fields are declared
in the order the answers have always had them; times are ISO 8601 strings
(``datetime.isoformat``), dates ``AAAA-MM-JJ`` / ``YYYY-MM-DD``."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Repaired(BaseModel):
    """Le fichier tel que déposé, quand la version en publie la réparation sûre / the file as
    uploaded, when the version publishes its safe repair."""

    original_filename: str | None
    original_sha256: str | None
    original_download_url: str
    original_view_url: str | None = Field(
        default=None,
        description="Le fichier d'origine affiché dans le navigateur, dans son encodage, quand "
        "c'est du texte / the original shown in the browser, in its encoding, when it is text",
    )
    changes_url: str = Field(
        description="La liste des corrections, cellule par cellule / every repair, cell by cell"
    )


class Version(BaseModel):
    """Une version publiée d'un fichier, jamais modifiée / a published version of a file,
    never changed."""

    # The features add their own views of a version after ``download_url`` (core.hooks): any
    # key one adds is kept.
    model_config = ConfigDict(extra="allow")

    repaired: Repaired | None
    id: str
    number: int
    filename: str
    media_type: str
    size: int
    sha256: str
    schema_id: str | None = Field(
        alias="schema",
        description="Le schéma contre lequel le fichier a été validé / the schema it was "
        "validated against",
        examples=["scdl-subventions@2.1.1"],
    )
    valid: bool
    unchecked: list[str] = Field(
        description="Les vérifications du schéma qui n'ont pas pu être faites : tant qu'il y en "
        "a, le fichier n'est pas dit conforme / the schema's checks that could not run: while "
        "there are any, the file is not called conforming",
        examples=[["french_gps_coordinates"]],
    )
    published_at: str
    uploaded_by: str | None = Field(
        description="L'organisation qui l'a publiée pour celle du jeu de données (un EPCI) / "
        "the organization that published it for the dataset's own (an EPCI)"
    )
    download_url: str
    view_url: str | None = Field(
        description="Le fichier affiché dans le navigateur comme texte, dans son encodage "
        "(accents justes), quand c'est du texte / the file shown in the browser as text, in its "
        "encoding, when it is text"
    )
    rows: dict[str, Any] | None = Field(
        default=None,
        description="Ses lignes, pour un fichier tabulaire (status, error, count, columns, url, "
        "exports) ; absent sans la fonction des lignes / its rows, for a tabular file; absent "
        "without the rows feature",
    )


class Temporal(BaseModel):
    """La période couverte / the period covered."""

    start: str | None
    end: str | None


class HarvestedFrom(BaseModel):
    """D'où vient un jeu de données moissonné / where a harvested dataset comes from."""

    source: str
    kind: str = Field(description="ckan, opendatasoft ou/or dcat")
    url: str
    remote_id: str
    remote_url: str
    remote_modified: str | None
    harvested_at: str


class DatasetSummary(BaseModel):
    """Un jeu de données et ses métadonnées DCAT-AP / a dataset and its DCAT-AP metadata."""

    slug: str
    title: str
    organization: str
    description: str = Field(description="En Markdown / in Markdown")
    description_html: str
    keywords: list[str]
    theme: str | None
    theme_label: str | None
    licence: str
    licence_label: str | None
    contact_point: str | None
    spatial: list[str] = Field(description="Codes INSEE des communes / communes' INSEE codes")
    temporal: Temporal
    frequency: str | None
    created_at: str
    updated_at: str
    url: str
    resources_count: int
    harvested_from: HarvestedFrom | None


class Resource(BaseModel):
    """Un fichier publié ici, et toutes ses versions / a file published here, and all its
    versions."""

    id: str
    key: str
    title: str
    download_url: str | None
    latest_url: str = Field(
        description="Sert toujours la dernière version / always serves the newest version"
    )
    latest: Version | None
    versions: list[Version]


class RemoteResource(BaseModel):
    """Un fichier moissonné : un lien vers sa source, aucune version gardée ici / a harvested
    file: a link to its source, no version kept here."""

    id: str
    key: None
    title: str
    remote: Literal[True]
    format: str | None
    media_type: str | None
    size: int | None
    download_url: str
    latest_url: None
    latest: None
    versions: list[Version] = Field(description="Toujours vide / always empty")


class Dataset(DatasetSummary):
    """Un jeu de données avec ses fichiers et toutes leurs versions / a dataset with its
    resources and all their versions."""

    conforms_to: list[str] = Field(description="Les schémas de ses versions / its schemas")
    resources: list[Resource | RemoteResource]


class _OfResource(BaseModel):
    resource: str = Field(description="La clé du fichier / the resource's key")


# Pydantic puts the fields of the last base first: ``resource`` leads, as in the answers.
class HistoryEntry(Version, _OfResource):
    """Une version et la clé de son fichier / a version and its resource's key."""


class History(BaseModel):
    items: list[HistoryEntry] = Field(
        description="Chaque version publiée, de la plus récente / every version, newest first"
    )


class DownloadDay(BaseModel):
    day: str
    count: int


class Downloads(BaseModel):
    """Un compteur par jour, rien sur qui / a counter per day, nothing about who."""

    version: str
    total: int
    days: list[DownloadDay]


class Change(BaseModel):
    """Une cellule corrigée, ou une ligne ou une colonne retirée / one altered cell, or one
    removed row or column."""

    kind: str = Field(examples=["number", "date", "spaces", "empty-row"])
    row: int | None
    column: int | None
    field: str | None
    before: str | None
    after: str | None


class Changes(BaseModel):
    """Toutes les corrections sûres faites au fichier déposé / every safe repair made to the
    uploaded file."""

    file: list[str] = Field(
        description="Les corrections du fichier entier (encodage, BOM, séparateur) / "
        "file-level repairs (encoding, BOM, delimiter)"
    )
    counts: dict[str, int]
    kinds: dict[str, str] = Field(description="Le libellé de chaque sorte / each kind's label")
    changes_total: int
    changes: list[Change]
