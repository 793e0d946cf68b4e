"""Dependencies of catalog's routes."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from datacommune.catalog import problems
from datacommune.catalog.settings import Settings
from datacommune.catalog.tables import Organization
from datacommune.shared import tokens
from datacommune.shared.http import RuntimeDep, Token
from datacommune.shared.problems import Unauthorized


def settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def session(rt: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """A session for reading; routes that write open their own transaction and commit it
    before answering, so a client never sees a success that was not committed."""
    async with rt.reader() as s:
        yield s


def admin(token: Token, cfg: Annotated[Settings, Depends(settings)]) -> None:
    if not cfg.admin_token_hash or not tokens.matches(token, cfg.admin_token_hash):
        raise problems.not_admin()


SettingsDep = Annotated[Settings, Depends(settings)]
Session = Annotated[AsyncSession, Depends(session)]
Admin = Depends(admin)


async def organization(token: Token, rt: RuntimeDep) -> Organization:
    """The organization whose token this is; a 401 problem otherwise."""
    async with rt.reader() as s:
        org = await s.scalar(
            select(Organization).where(Organization.token_hash == tokens.hash_token(token))
        )
    if org is None:
        raise Unauthorized("Ce jeton n'est pas reconnu.", "This token is not recognised.")
    return org


CurrentOrganization = Annotated[Organization, Depends(organization)]
