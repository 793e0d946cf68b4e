"""Dependencies every route of catalog may take: its settings, a reading session, the platform
administrator. Each domain adds its own (``access.deps``, ``rows.deps``)."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from datacommune.catalog import problems
from datacommune.catalog.ratelimit import RateLimit
from datacommune.catalog.settings import Settings
from datacommune.shared import tokens
from datacommune.shared.http import RuntimeDep, Token


async def settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def session(rt: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """A session for reading; routes that write open their own transaction and commit it
    before answering, so a client never sees a success that was not committed."""
    async with rt.reader() as s:
        yield s


async def admin(token: Token, cfg: Annotated[Settings, Depends(settings)]) -> None:
    if not cfg.admin_token_hash or not tokens.matches(token, cfg.admin_token_hash):
        raise problems.not_admin()


SettingsDep = Annotated[Settings, Depends(settings)]
Session = Annotated[AsyncSession, Depends(session)]
Admin = Depends(admin)


async def vote_limit(request: Request) -> RateLimit:
    return request.app.state.vote_limit  # type: ignore[no-any-return]


async def webhook_limit(request: Request) -> RateLimit:
    return request.app.state.webhook_limit  # type: ignore[no-any-return]


# The per-client limits of votes and webhook subscriptions (one per replica, made with the app).
VoteLimit = Annotated[RateLimit, Depends(vote_limit)]
WebhookLimit = Annotated[RateLimit, Depends(webhook_limit)]
