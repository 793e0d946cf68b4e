"""Dependencies of catalog's routes."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from datacommune.catalog import problems
from datacommune.catalog.rowstore import RowStore
from datacommune.catalog.settings import Settings
from datacommune.catalog.tables import Organization
from datacommune.catalog.tables import Token as TokenRow
from datacommune.shared import credentials, fields, tokens
from datacommune.shared.http import RuntimeDep, Token
from datacommune.shared.problems import Forbidden


def settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def session(rt: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """A session for reading; routes that write open their own transaction and commit it
    before answering, so a client never sees a success that was not committed."""
    async with rt.reader() as s:
        yield s


def rows(request: Request) -> RowStore:
    return request.app.state.rows  # type: ignore[no-any-return]


def admin(token: Token, cfg: Annotated[Settings, Depends(settings)]) -> None:
    if not cfg.admin_token_hash or not tokens.matches(token, cfg.admin_token_hash):
        raise problems.not_admin()


SettingsDep = Annotated[Settings, Depends(settings)]
Session = Annotated[AsyncSession, Depends(session)]
RowsDep = Annotated[RowStore, Depends(rows)]
Admin = Depends(admin)


async def organization(token: Token, rt: RuntimeDep) -> Organization:
    """The organization whose valid publisher (or admin) token this is; a 401 or 403 problem
    otherwise."""
    async with rt.reader() as s:
        principal = await credentials.authenticate(
            s, Organization, token, tokens_model=TokenRow, need="publisher"
        )
    return principal.organization


async def organization_admin(
    slug: fields.OrganizationPath,
    token: Token,
    rt: RuntimeDep,
    cfg: Annotated[Settings, Depends(settings)],
) -> str:
    """The platform administrator, or an admin token of the organization ``slug``."""
    if cfg.admin_token_hash and tokens.matches(token, cfg.admin_token_hash):
        return slug
    async with rt.reader() as s:
        if await s.get(Organization, slug) is None:
            raise problems.organization_not_found(slug)
        principal = await credentials.authenticate(
            s, Organization, token, tokens_model=TokenRow, need="admin"
        )
    if principal.slug != slug:
        raise Forbidden(
            f"Ce jeton est celui de « {principal.slug} », pas de « {slug} ».",
            f"This token belongs to {principal.slug!r}, not {slug!r}.",
        )
    return slug


CurrentOrganization = Annotated[Organization, Depends(organization)]
OrganizationAdmin = Annotated[str, Depends(organization_admin)]
