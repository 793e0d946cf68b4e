"""Organizations and their tokens; a token is shown once and stored only as its hash."""

from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from datacommune.catalog import problems
from datacommune.catalog.access import hooks, rights
from datacommune.catalog.tables import Organization, Outbox
from datacommune.shared import territories, tokens
from datacommune.shared.fields import Line, OrganizationSlug
from datacommune.shared.outbox import enqueue

Kind = Literal["commune", "epci", "departement", "region", "syndicat", "autre"]


class OrganizationIn(BaseModel):
    """What registering an organization takes."""

    slug: OrganizationSlug = Field(examples=["roques"])
    name: Line = Field(min_length=1, max_length=200, examples=["Roques"])
    kind: Kind = "commune"
    siren: str | None = Field(default=None, pattern=r"^\d{9}$", examples=["213104571"])
    insee_code: str | None = Field(
        default=None, pattern=r"^(\d{5}|2[AB]\d{3})$", examples=["31457"]
    )
    parent: OrganizationSlug | None = Field(
        default=None,
        description="Le territoire au-dessus : l'EPCI d'une commune, le département d'un EPCI.",
        examples=["sicoval"],
    )


class OrganizationMove(BaseModel):
    """Where an organization sits in the territory tree."""

    parent: OrganizationSlug | None = Field(
        description="Le nouveau territoire au-dessus (null : aucun) / the new territory above "
        "(null: none).",
        examples=["sicoval"],
    )


def describe(org: Organization) -> dict[str, Any]:
    """The public view of an organization (never its token)."""
    return {
        "slug": org.slug,
        "name": org.name,
        "kind": org.kind,
        "siren": org.siren,
        "insee_code": org.insee_code,
        "parent": org.parent,
        "created_at": org.created_at.isoformat(),
    }


async def create(session: AsyncSession, data: OrganizationIn, *, source: str) -> dict[str, Any]:
    """Register an organization and announce its token hash; returns the token, once."""
    if await session.get(Organization, data.slug) is not None:
        raise problems.organization_exists(data.slug)
    if data.parent and await session.get(Organization, data.parent) is None:
        raise problems.organization_not_found(data.parent)
    token = tokens.new_token()
    org = Organization(**data.model_dump(), token_hash=tokens.hash_token(token))
    session.add(org)
    enqueue(session, Outbox, rights.organization_created(org, source))
    rights.first_token(session, org, source=source)
    await session.flush()
    return {**describe(org), "token": token}


async def move(session: AsyncSession, slug: str, parent: str | None) -> Organization:
    """Put an organization under another territory (a commune joining another EPCI); the
    features that follow territories (pooled data) hear of it in this transaction."""
    org = await get(session, slug)
    if parent is not None:
        if await session.get(Organization, parent) is None:
            raise problems.organization_not_found(parent)
        if parent in await territory_members(session, slug):
            raise problems.organization_cycle(slug, parent)
    if org.parent != parent:
        before, org.parent = org.parent, parent
        await session.flush()
        await hooks.organization_moved(session, slug, before)
    return org


async def list_all(session: AsyncSession) -> list[Organization]:
    """Every organization, by slug."""
    return list((await session.scalars(select(Organization).order_by(Organization.slug))).all())


async def get(session: AsyncSession, slug: str) -> Organization:
    """One organization; a 404 problem if unknown."""
    org = await session.get(Organization, slug)
    if org is None:
        raise problems.organization_not_found(slug)
    return org


async def territory_members(session: AsyncSession, slug: str) -> set[str]:
    """An organization and every organization under it (commune → EPCI → département)."""
    return territories.members(await parents(session), slug)


async def parents(session: AsyncSession) -> dict[str, str | None]:
    """Each organization's parent territory."""
    return dict((await session.execute(select(Organization.slug, Organization.parent))).all())
