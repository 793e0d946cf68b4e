"""The JSON answers of the interoperability routes, as the OpenAPI document shows them: a
dataset as a Frictionless Data Package, and CKAN's Action API envelope and dictionaries.
Fields are declared in the order the answers have always had them; keys a route sometimes
leaves out default to None (never sent: ``SkipJsonSchema``), and that route answers only the
keys the code wrote."""

from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

T = TypeVar("T")


class InlineField(BaseModel):
    name: str
    type: str
    format: str


class InlineSchema(BaseModel):
    """Un Table Schema écrit dans le paquet / a Table Schema written in the package."""

    fields: list[InlineField]


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
    schema_url: str | InlineSchema | SkipJsonSchema[None] = Field(
        default=None,
        alias="schema",
        description="Le Table Schema contre lequel valider (son adresse ; pour des données "
        "mutualisées, le schéma lui-même avec les colonnes d'origine) / the Table Schema to "
        "validate against (its URL; for pooled data, the schema itself with the provenance "
        "columns)",
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
    approval_status: str
    description: str
    image_url: str
    image_display_url: str
    created: str
    revision_id: str = Field(description="Vide : demandé par le moissonneur d'udata / empty")
    revision_timestamp: str
    extras: list[CkanExtra] = Field(description="kind, siren, insee_code")


class CkanResource(BaseModel):
    """Un fichier, comme CKAN le décrit / a resource as CKAN describes it."""

    id: str
    package_id: str
    name: str
    description: str
    url: str
    url_type: None
    resource_type: str
    format: str
    mimetype: str | None
    mimetype_inner: None
    size: int | None
    hash: str = Field(description="SHA-256 en hexadécimal / hex SHA-256, as CKAN keeps it")
    created: str
    last_modified: str | None
    metadata_modified: str
    cache_url: None
    cache_last_updated: None
    datastore_active: bool
    state: str
    position: int
    schema_id: str | None = Field(alias="schema")


class CkanTag(BaseModel):
    id: str
    name: str
    display_name: str
    state: str
    vocabulary_id: None


class CkanGroup(BaseModel):
    """Un thème, comme un groupe CKAN / a theme, as a CKAN group."""

    id: str
    name: str
    title: str
    display_name: str
    description: str
    image_display_url: str
    type: str
    is_organization: bool
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
    version: None
    author: str | None
    author_email: None
    maintainer: str | None
    maintainer_email: str | None
    license_id: str
    license_title: str
    license_url: str | None
    isopen: bool
    owner_org: str
    organization: CkanOrganization | None
    creator_user_id: None
    metadata_created: str
    metadata_modified: str
    url: str = Field(description="La page du jeu de données / the dataset's page")
    tags: list[CkanTag]
    num_tags: int
    groups: list[CkanGroup]
    resources: list[CkanResource]
    num_resources: int
    relationships_as_object: list[Any]
    relationships_as_subject: list[Any]
    extras: list[CkanExtra] = Field(
        description="theme, frequency, insee_codes, temporal_start, temporal_end, api_url, "
        "harvest_source_id, harvest_source_url, harvest_url"
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


class CkanLicense(BaseModel):
    id: str
    title: str
    url: str
    status: str
    is_okd_compliant: bool
    is_osi_compliant: bool
    is_generic: bool
    od_conformance: str
    osd_conformance: str
    domain_content: bool
    domain_data: bool
    domain_software: bool
    family: str
    maintainer: str


class CkanGroupList(CkanAnswer[list[str] | list[CkanGroup]]):
    """group_list : les thèmes, ou les groupes avec all_fields=true / the themes, or the groups
    with all_fields=true."""


class CkanTagList(CkanAnswer[list[str] | list[CkanTag]]):
    """tag_list : les mots-clés / the tags."""


class CkanLicenseList(CkanAnswer[list[CkanLicense]]):
    """license_list : les licences / the licences."""


class CkanSiteRead(CkanAnswer[bool]):
    """site_read : toujours vrai / always true."""


class CkanPackageListWithResources(CkanAnswer[list[CkanPackage]]):
    """current_package_list_with_resources : les jeux de données, les plus récents d'abord /
    the datasets, most recent first."""
