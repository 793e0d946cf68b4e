"""Organizations (registered by the platform administrator, read by anyone), and their tokens
and delegations, which the organization's administrators manage."""

import uuid
from typing import Any

from fastapi import APIRouter, Response

from datacommune.catalog.access import organizations, rights, schemas
from datacommune.catalog.access.deps import OrganizationAdmin
from datacommune.catalog.deps import Admin, Session, SettingsDep
from datacommune.shared import fields
from datacommune.shared.http import RuntimeDep

router = APIRouter(prefix="/api/v1")
grants = APIRouter(prefix="/organizations/{slug}", tags=["droits / access"])


@grants.post(
    "/tokens",
    status_code=201,
    response_model=schemas.TokenIssued,
    summary="Créer un jeton / issue a token",
)
async def issue_token(
    slug: fields.OrganizationPath,
    data: rights.TokenIn,
    admin: OrganizationAdmin,
    runtime: RuntimeDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """A token with a role (viewer, publisher, admin) and an expiry; shown once."""
    async with runtime.sessionmaker.begin() as session:
        created = rights.issue(session, admin, data, source=settings.source)
    runtime.relay.wake()
    return created


@grants.get(
    "/tokens",
    response_model=schemas.Tokens,
    summary="Les jetons (sans leur secret) / tokens, without secrets",
)
async def list_tokens(
    slug: fields.OrganizationPath, admin: OrganizationAdmin, session: Session
) -> dict[str, Any]:
    return {"items": [rights.describe(t) for t in await rights.list_tokens(session, admin)]}


@grants.delete("/tokens/{token_id}", status_code=204, summary="Révoquer / revoke a token")
async def revoke_token(
    slug: fields.OrganizationPath,
    token_id: uuid.UUID,
    admin: OrganizationAdmin,
    runtime: RuntimeDep,
    settings: SettingsDep,
) -> Response:
    async with runtime.sessionmaker.begin() as session:
        await rights.revoke(session, admin, token_id, source=settings.source)
    runtime.relay.wake()
    return Response(status_code=204)


@grants.post(
    "/delegations",
    status_code=201,
    response_model=schemas.Delegation,
    summary="Déléguer / delegate publishing",
)
async def delegate(
    slug: fields.OrganizationPath,
    data: rights.DelegationIn,
    admin: OrganizationAdmin,
    runtime: RuntimeDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """Let the EPCI or the département this organization belongs to publish for it."""
    async with runtime.sessionmaker.begin() as session:
        granted = await rights.delegate(session, admin, data, source=settings.source)
    runtime.relay.wake()
    return granted


@grants.get(
    "/delegations",
    response_model=schemas.Delegations,
    summary="Qui publie pour elle / who publishes for it",
)
async def list_delegations(slug: fields.OrganizationPath, session: Session) -> dict[str, Any]:
    return {"organization": slug, "delegates": await rights.delegations(session, slug)}


@grants.delete("/delegations/{delegate}", status_code=204, summary="Retirer / withdraw")
async def undelegate(
    slug: fields.OrganizationPath,
    delegate: fields.OrganizationPath,
    admin: OrganizationAdmin,
    runtime: RuntimeDep,
    settings: SettingsDep,
) -> Response:
    async with runtime.sessionmaker.begin() as session:
        await rights.undelegate(session, admin, delegate, source=settings.source)
    runtime.relay.wake()
    return Response(status_code=204)


@router.post(
    "/organizations",
    status_code=201,
    dependencies=[Admin],
    response_model=schemas.OrganizationCreated,
    tags=["organisations / organizations"],
    summary="Inscrire une organisation / register an organization",
)
async def create_organization(
    data: organizations.OrganizationIn, runtime: RuntimeDep, settings: SettingsDep
) -> dict[str, Any]:
    """Register a collectivité; its token is in the answer, and only there."""
    async with runtime.sessionmaker.begin() as session:
        created = await organizations.create(session, data, source=settings.source)
    runtime.relay.wake()
    return created


@router.patch(
    "/organizations/{slug}",
    dependencies=[Admin],
    response_model=schemas.Organization,
    tags=["organisations / organizations"],
    summary="Rattacher à un autre territoire / move to another territory",
)
async def move_organization(
    slug: fields.OrganizationPath, data: organizations.OrganizationMove, runtime: RuntimeDep
) -> dict[str, Any]:
    """A commune joining another EPCI, an EPCI another département: its files and those of
    the organizations below it leave the old territory's pooled data and join the new one's."""
    async with runtime.sessionmaker.begin() as session:
        org = await organizations.move(session, slug, data.parent)
        return organizations.describe(org)


@router.get(
    "/organizations",
    response_model=schemas.Organizations,
    tags=["organisations / organizations"],
)
async def list_organizations(session: Session) -> dict[str, Any]:
    """Every organization that publishes here."""
    return {"items": [organizations.describe(o) for o in await organizations.list_all(session)]}


@router.get(
    "/organizations/{slug}",
    response_model=schemas.Organization,
    tags=["organisations / organizations"],
)
async def get_organization(slug: fields.OrganizationPath, session: Session) -> dict[str, Any]:
    """One organization."""
    return organizations.describe(await organizations.get(session, slug))


# After every route of ``grants`` is declared: including copies them.
router.include_router(grants)
