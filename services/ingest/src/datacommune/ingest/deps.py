"""Dependencies of ingest's routes."""

from typing import Annotated

from fastapi import Depends, Request

from datacommune.ingest.settings import Settings
from datacommune.ingest.tables import Organization
from datacommune.shared import credentials
from datacommune.shared.http import RuntimeDep, Token


def settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def organization(token: Token, rt: RuntimeDep) -> Organization:
    async with rt.reader() as session:
        return await credentials.authenticate(session, Organization, token)


SettingsDep = Annotated[Settings, Depends(settings)]
CurrentOrganization = Annotated[Organization, Depends(organization)]
