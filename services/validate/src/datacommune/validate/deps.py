"""Dependencies of validate's routes: the schema registry, loaded once when the app is made."""

from typing import Annotated

from fastapi import Depends, Request

from datacommune.validate.registry import Registry


async def registry(request: Request) -> Registry:
    return request.app.state.registry  # type: ignore[no-any-return]


RegistryDep = Annotated[Registry, Depends(registry)]
