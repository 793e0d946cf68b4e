"""The JSON answers of the access routes, as the OpenAPI document shows them. Times are the
ISO 8601 strings the answers have always carried (``datetime.isoformat``)."""

from pydantic import BaseModel, Field


class Organization(BaseModel):
    """An organization as anyone may read it: never its token."""

    slug: str
    name: str
    kind: str
    siren: str | None
    insee_code: str | None
    parent: str | None = Field(description="Le territoire au-dessus / the territory above")
    created_at: str


class OrganizationCreated(Organization):
    token: str = Field(description="Le jeton d'administration, montré cette fois seulement")


class Organizations(BaseModel):
    items: list[Organization]


class Token(BaseModel):
    """A token as its organization sees it: never the secret itself."""

    id: str
    organization: str
    role: str
    label: str | None
    created_at: str
    expires_at: str | None
    revoked_at: str | None


class TokenIssued(Token):
    token: str = Field(description="Le jeton, montré cette fois seulement / shown once")


class Tokens(BaseModel):
    items: list[Token]


class Delegation(BaseModel):
    organization: str
    delegate: str


class Delegations(BaseModel):
    organization: str
    delegates: list[str]
