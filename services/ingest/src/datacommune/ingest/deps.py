"""Dependencies of ingest's routes: who is asking, with which role."""

from typing import Annotated

from fastapi import Depends, Request

from datacommune.ingest.federation import NodeStatus
from datacommune.ingest.settings import Settings
from datacommune.ingest.tables import Organization, Token
from datacommune.shared import credentials
from datacommune.shared.http import RuntimeDep
from datacommune.shared.http import Token as Bearer


async def settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def publisher(token: Bearer, rt: RuntimeDep) -> credentials.Principal[Organization]:
    """A valid token that may publish (publisher or admin)."""
    async with rt.reader() as session:
        return await credentials.authenticate(
            session, Organization, token, tokens_model=Token, need="publisher"
        )


async def viewer(token: Bearer, rt: RuntimeDep) -> Organization:
    """The organization of any valid token, a viewer's included: for reading its uploads."""
    async with rt.reader() as session:
        principal = await credentials.authenticate(
            session, Organization, token, tokens_model=Token, need="viewer"
        )
    return principal.organization


async def organization(
    principal: Annotated[credentials.Principal[Organization], Depends(publisher)],
) -> Organization:
    return principal.organization


async def node_status(request: Request) -> NodeStatus | None:
    """On a hub with nodes, what follows their links and backlogs; None elsewhere."""
    status: NodeStatus | None = getattr(request.app.state, "node_status", None)
    return status


SettingsDep = Annotated[Settings, Depends(settings)]
NodeStatusDep = Annotated[NodeStatus | None, Depends(node_status)]
CurrentPrincipal = Annotated[credentials.Principal[Organization], Depends(publisher)]
CurrentOrganization = Annotated[Organization, Depends(organization)]
ReadingOrganization = Annotated[Organization, Depends(viewer)]
