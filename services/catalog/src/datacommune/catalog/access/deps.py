"""Who is calling: the organization of a publisher's token, or an organization's administrator."""

from typing import Annotated

from fastapi import Depends

from datacommune.catalog import problems
from datacommune.catalog.deps import settings
from datacommune.catalog.settings import Settings
from datacommune.catalog.tables import Organization
from datacommune.catalog.tables import Token as TokenRow
from datacommune.shared import credentials, fields, tokens
from datacommune.shared.http import RuntimeDep, Token
from datacommune.shared.problems import Forbidden


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
