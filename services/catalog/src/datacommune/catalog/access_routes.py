"""Tokens and delegations of an organization: its administrators manage them."""

import uuid
from typing import Any

from fastapi import APIRouter, Response

from datacommune.catalog import access
from datacommune.catalog.deps import OrganizationAdmin, Session, SettingsDep
from datacommune.shared import fields
from datacommune.shared.http import RuntimeDep

router = APIRouter(prefix="/api/v1/organizations/{slug}", tags=["droits / access"])


@router.post("/tokens", status_code=201, summary="Créer un jeton / issue a token")
async def issue_token(
    slug: fields.OrganizationPath,
    data: access.TokenIn,
    admin: OrganizationAdmin,
    runtime: RuntimeDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """A token with a role (viewer, publisher, admin) and an expiry; shown once."""
    async with runtime.sessionmaker.begin() as session:
        created = access.issue(session, admin, data, source=settings.source)
    runtime.relay.wake()
    return created


@router.get("/tokens", summary="Les jetons (sans leur secret) / tokens, without secrets")
async def list_tokens(
    slug: fields.OrganizationPath, admin: OrganizationAdmin, session: Session
) -> dict[str, Any]:
    return {"items": [access.describe(t) for t in await access.list_tokens(session, admin)]}


@router.delete("/tokens/{token_id}", status_code=204, summary="Révoquer / revoke a token")
async def revoke_token(
    slug: fields.OrganizationPath,
    token_id: uuid.UUID,
    admin: OrganizationAdmin,
    runtime: RuntimeDep,
    settings: SettingsDep,
) -> Response:
    async with runtime.sessionmaker.begin() as session:
        await access.revoke(session, admin, token_id, source=settings.source)
    runtime.relay.wake()
    return Response(status_code=204)


@router.post("/delegations", status_code=201, summary="Déléguer / delegate publishing")
async def delegate(
    slug: fields.OrganizationPath,
    data: access.DelegationIn,
    admin: OrganizationAdmin,
    runtime: RuntimeDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """Let the EPCI or the département this organization belongs to publish for it."""
    async with runtime.sessionmaker.begin() as session:
        granted = await access.delegate(session, admin, data, source=settings.source)
    runtime.relay.wake()
    return granted


@router.get("/delegations", summary="Qui publie pour elle / who publishes for it")
async def list_delegations(slug: fields.OrganizationPath, session: Session) -> dict[str, Any]:
    return {"organization": slug, "delegates": await access.delegations(session, slug)}


@router.delete("/delegations/{delegate}", status_code=204, summary="Retirer / withdraw")
async def undelegate(
    slug: fields.OrganizationPath,
    delegate: fields.OrganizationPath,
    admin: OrganizationAdmin,
    runtime: RuntimeDep,
    settings: SettingsDep,
) -> Response:
    async with runtime.sessionmaker.begin() as session:
        await access.undelegate(session, admin, delegate, source=settings.source)
    runtime.relay.wake()
    return Response(status_code=204)
