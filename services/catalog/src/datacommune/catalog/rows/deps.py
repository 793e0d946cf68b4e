"""The row store a route reads versions' rows from."""

from typing import Annotated

from fastapi import Depends, Request

from datacommune.catalog.rows.store import RowStore


async def rows(request: Request) -> RowStore:
    return request.app.state.rows  # type: ignore[no-any-return]


RowsDep = Annotated[RowStore, Depends(rows)]
