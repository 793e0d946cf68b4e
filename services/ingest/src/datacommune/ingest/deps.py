"""Dependencies of ingest's routes."""

from typing import Annotated

from fastapi import Depends, Request

from datacommune.ingest import uploads
from datacommune.ingest.settings import Settings
from datacommune.ingest.tables import Organization
from datacommune.shared.http import bearer_token
from datacommune.shared.runtime import Runtime


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


def settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def organization(
    token: Annotated[str, Depends(bearer_token)], rt: Annotated[Runtime, Depends(runtime)]
) -> Organization:
    async with rt.reader() as session:
        return await uploads.authenticate(session, token)


RuntimeDep = Annotated[Runtime, Depends(runtime)]
SettingsDep = Annotated[Settings, Depends(settings)]
CurrentOrganization = Annotated[Organization, Depends(organization)]
