"""The JSON answers of the interoperability routes, as the OpenAPI document shows them: a
dataset as a Frictionless Data Package, and CKAN's Action API envelope and dictionaries.
Fields are declared in the order the answers have always had them; keys a route sometimes
leaves out default to None (never sent: ``SkipJsonSchema``), and that route answers only the
keys the code wrote."""

from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

T = TypeVar("T")


class DataPackageLicense(BaseModel):
    name: str
    title: str
    path: str


class DataPackageResource(BaseModel):
    """Un fichier publié ici, à l'adresse de sa version / a file published here, at its
    version's own address."""

    name: str
    title: str
    path: str = Field(description="L'adresse de la version, stable / the version's own URL")
    format: str | SkipJsonSchema[None] = Field(
        default=None, description="csv, json… quand il est connu / when known"
    )
    mediatype: str
    bytes: int
    hash: str = Field(examples=["sha256:…"])
    encoding: str | SkipJsonSchema[None] = Field(
        default=None, description="L'encodage d'un fichier texte / a text file's encoding"
    )
    schema_url: str | SkipJsonSchema[None] = Field(
        default=None,
        alias="schema",
        description="Le Table Schema contre lequel valider / the Table Schema to validate against",
    )


class DataPackageSheet(BaseModel):
    """Un classeur publié ici (XLSX, ODS), sans taille ni empreinte : frictionless ne les
    vérifie pas sur un classeur / a workbook published here, without bytes nor hash, which
    frictionless cannot check on a workbook."""

    # Nothing else: a harvested link with a size is not taken for a sheet.
    model_config = ConfigDict(extra="forbid")

    name: str
    title: str
    path: str = Field(description="L'adresse de la version, stable / the version's own URL")
    format: Literal["xlsx", "xls", "ods"]
    mediatype: str
    schema_url: str | SkipJsonSchema[None] = Field(
        default=None,
        alias="schema",
        description="Le Table Schema contre lequel valider / the Table Schema to validate against",
    )


class DataPackageLink(BaseModel):
    """Un fichier moissonné, servi par sa source / a harvested file, served by its source."""

    name: str
    title: str
    path: str
    format: str | SkipJsonSchema[None] = None
    mediatype: str | SkipJsonSchema[None] = None
    bytes: int | SkipJsonSchema[None] = None


class DataPackage(BaseModel):
    """Un Data Package Frictionless : « frictionless validate » le vérifie / a Frictionless
    Data Package, which ``frictionless validate`` checks."""

    name: str
    version: str | SkipJsonSchema[None] = Field(
        default=None, description="Le numéro de la version décrite / the version described"
    )
    title: str
    description: str
    homepage: str
    keywords: list[str]
    licenses: list[DataPackageLicense]
    resources: list[
        # A file published here has a ``hash``, a sheet published here a sheet's format and no
        # size, a harvested link neither: tried in this order.
        Annotated[
            DataPackageResource | DataPackageSheet | DataPackageLink,
            Field(union_mode="left_to_right"),
        ]
    ]


class CkanAnswer(BaseModel, Generic[T]):
    """L'enveloppe de CKAN / CKAN's envelope (``help``, ``success``, ``result``)."""

    help: str
    success: Literal[True]
    result: T


class CkanStatus(BaseModel):
    ckan_version: str
    site_title: str
    site_description: str
    site_url: str
    locale_default: str
    extensions: list[str]


class CkanExtra(BaseModel):
    key: str
    value: str


class CkanOrganization(BaseModel):
    """Une organisation comme CKAN la décrit / an organization as CKAN describes it."""

    id: str
    name: str
    title: str
    display_name: str
    type: str
    is_organization: bool
    state: str
    description: str
    created: str
    extras: list[CkanExtra] = Field(description="kind, siren, insee_code")


class CkanResource(BaseModel):
    """Un fichier, comme CKAN le décrit / a resource as CKAN describes it."""

    id: str
    package_id: str
    name: str
    url: str
    format: str
    mimetype: str | None
    size: int | None
    hash: str
    created: str
    last_modified: str | None
    state: str
    position: int
    schema_id: str | None = Field(alias="schema")
    url_type: None = Field(
        default=None, description="Pour un fichier moissonné / for a harvested file"
    )


class CkanTag(BaseModel):
    name: str
    display_name: str
    state: str


class CkanPackage(BaseModel):
    """Un jeu de données, comme CKAN le décrit / a dataset as CKAN describes it."""

    id: str
    name: str
    title: str
    notes: str
    type: str
    state: str
    private: bool
    license_id: str
    license_title: str
    owner_org: str
    organization: CkanOrganization | None
    metadata_created: str
    metadata_modified: str
    url: str
    tags: list[CkanTag]
    num_tags: int
    resources: list[CkanResource]
    num_resources: int
    extras: list[CkanExtra] = Field(
        description="theme, frequency, insee_codes, harvest_source_id, harvest_source_url, "
        "harvest_url"
    )


class CkanSearch(BaseModel):
    count: int
    sort: Any = Field(description="Le tri demandé / the sort asked for", examples=["score desc"])
    results: list[CkanPackage]
    facets: dict[str, Any]
    search_facets: dict[str, Any]


class CkanOrganizationShown(CkanOrganization):
    package_count: int
    packages: list[CkanPackage] | SkipJsonSchema[None] = Field(
        default=None, description="Avec include_datasets=true / with include_datasets=true"
    )


# One envelope per action, named after it.
class CkanStatusShow(CkanAnswer[CkanStatus]):
    """La réponse de status_show / status_show's answer."""


class CkanPackageList(CkanAnswer[list[str]]):
    """package_list : les noms des jeux de données / the datasets' names."""


class CkanPackageSearch(CkanAnswer[CkanSearch]):
    """La réponse de package_search / package_search's answer."""


class CkanPackageShow(CkanAnswer[CkanPackage]):
    """La réponse de package_show / package_show's answer."""


class CkanResourceShow(CkanAnswer[CkanResource]):
    """La réponse de resource_show / resource_show's answer."""


class CkanOrganizationList(CkanAnswer[list[str] | list[CkanOrganization]]):
    """organization_list : les noms, ou les organisations avec all_fields=true / the names, or
    the organizations with all_fields=true."""


class CkanOrganizationShow(CkanAnswer[CkanOrganizationShown]):
    """La réponse de organization_show / organization_show's answer."""
