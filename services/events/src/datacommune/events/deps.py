"""Dependencies of events' routes: who is asking, with which role."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from datacommune.events.scheduler import Scheduler
from datacommune.events.settings import Settings
from datacommune.events.tables import Organization, Token
from datacommune.shared import credentials
from datacommune.shared.http import RuntimeDep
from datacommune.shared.http import Token as Bearer


async def settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def scheduler(request: Request) -> Scheduler:
    return request.app.state.scheduler  # type: ignore[no-any-return]


# The release scheduler of this replica, woken when a plan changes.
SchedulerDep = Annotated[Scheduler, Depends(scheduler)]


async def _check(rt: RuntimeDep, token: str, need: str) -> Organization:
    async with rt.reader() as session:
        principal = await credentials.authenticate(
            session, Organization, token, tokens_model=Token, need=need
        )
    return principal.organization


async def publisher(token: Bearer, rt: RuntimeDep) -> Organization:
    """The organization of a token that may change events and plans (publisher, admin)."""
    return await _check(rt, token, "publisher")


async def viewer(token: Bearer, rt: RuntimeDep) -> Organization:
    """The organization of any valid token: for reading its own plans."""
    return await _check(rt, token, "viewer")


_bearer = HTTPBearer(
    auto_error=False,
    description="Facultatif : le jeton de l'organisation montre toutes ses publications",
)


async def maybe_viewer(
    rt: RuntimeDep,
    auth: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Organization | None:
    if auth is None or not auth.credentials.strip():
        return None
    return await _check(rt, auth.credentials.strip(), "viewer")


SettingsDep = Annotated[Settings, Depends(settings)]
CurrentOrganization = Annotated[Organization, Depends(publisher)]
ReadingOrganization = Annotated[Organization, Depends(viewer)]
MaybeOrganization = Annotated[Organization | None, Depends(maybe_viewer)]
