"""Data requests and their votes, and who publishes what across a territory."""

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from datacommune.catalog.deps import Session, VoteLimit
from datacommune.catalog.requests import data_requests, schemas
from datacommune.shared import fields
from datacommune.shared.http import RuntimeDep

router = APIRouter(prefix="/api/v1")


@router.post(
    "/requests",
    status_code=201,
    response_model=schemas.DataRequest,
    tags=["demandes / requests"],
)
async def create_request(data: data_requests.RequestIn, runtime: RuntimeDep) -> dict[str, Any]:
    """Ask for data a territory lacks (« les délibérations de Roques »)."""
    async with runtime.sessionmaker.begin() as session:
        created = await data_requests.create(session, data)
        return data_requests.describe(created, 0)


@router.get(
    "/requests",
    response_model=schemas.DataRequests,
    tags=["demandes / requests"],
)
async def list_requests(
    session: Session, territory: fields.TerritoryQuery = None
) -> dict[str, Any]:
    """Requests, most wanted first; a territory includes the organizations below it."""
    return {"items": await data_requests.ranked(session, territory or None)}


@router.post(
    "/requests/{request_id}/votes",
    status_code=201,
    response_model=schemas.Votes,
    responses={
        200: {
            "model": schemas.Votes,
            "description": "Ce client avait déjà voté : rien ne change / this client had voted",
        }
    },
    tags=["demandes / requests"],
)
async def vote(
    request_id: uuid.UUID,
    data: data_requests.VoteIn,
    runtime: RuntimeDep,
    request: Request,
    limit: VoteLimit,
) -> JSONResponse:
    """Vote for a request; the same client voting again changes nothing, and an address that
    votes too often is asked to wait (429)."""
    limit.check(request.client.host if request.client else "?")
    votes, created = await data_requests.vote(runtime.sessionmaker, request_id, data.voter)
    return JSONResponse({"votes": votes}, status_code=201 if created else 200)


@router.get(
    "/coverage",
    response_model=schemas.Coverage,
    tags=["demandes / requests"],
)
async def coverage(session: Session, territory: fields.TerritoryQuery = None) -> dict[str, Any]:
    """Organizations × standard schemas: who publishes what, who lacks what."""
    return await data_requests.coverage(session, territory or None)
