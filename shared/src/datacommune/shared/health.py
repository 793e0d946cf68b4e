"""``/healthz`` (the process answers) and ``/readyz`` (its NATS, database and storage answer)."""

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from datacommune.shared.problems import MEDIA_TYPE, ProblemDoc, problem_body, problem_response


class Health(BaseModel):
    """The process answers."""

    status: str = Field(examples=["ok"])
    service: str = Field(examples=["catalog"])


class Ready(BaseModel):
    """Every dependency of the service answers."""

    status: str = Field(examples=["ready"])
    service: str = Field(examples=["catalog"])
    checks: dict[str, str] = Field(
        description="Chaque dépendance : « ok » / each dependency: 'ok'",
        examples=[{"nats": "ok", "consumers": "ok", "database": "ok", "storage": "ok"}],
    )


class NotReady(ProblemDoc):
    """A dependency does not answer: a problem naming the missing ones."""

    missing: list[str] = Field(
        description="Les dépendances qui ne répondent pas / the dependencies that do not answer",
        examples=[["database"]],
    )
    checks: dict[str, str] = Field(
        description="Chaque dépendance : « ok » ou ce qui ne va pas / each dependency: "
        "'ok' or what went wrong",
        examples=[
            {"nats": "ok", "consumers": "ok", "database": "OperationalError", "storage": "ok"}
        ],
    )


def health_router(service: str, readiness: Callable[[], Awaitable[dict[str, str]]]) -> APIRouter:
    """Routes for orchestrators and for ``datacommune up`` to wait on."""
    router = APIRouter(tags=["santé / health"])

    @router.get(
        "/healthz",
        response_model=Health,
        summary="Le processus répond / the process is alive",
    )
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": service}

    # The answer is sent as it is built (no response_model to check it against): ``responses``
    # only documents both shapes.
    @router.get(
        "/readyz",
        summary="Ses dépendances répondent / its dependencies answer",
        response_model=None,
        responses={
            200: {"model": Ready, "description": "Prêt / ready"},
            503: {
                "description": "Pas prêt, en problem JSON / not ready, as problem JSON",
                "content": {MEDIA_TYPE: {"schema": NotReady.model_json_schema()}},
            },
        },
    )
    async def readyz() -> dict[str, Any] | JSONResponse:
        checks = await readiness()
        missing = sorted(name for name, state in checks.items() if state != "ok")
        if not missing:
            return {"status": "ready", "service": service, "checks": checks}
        names = ", ".join(missing)
        return problem_response(
            problem_body(
                type_="/problems/not-ready",
                title="Service pas prêt",
                title_en="Service not ready",
                status=503,
                detail=f"{service} ne joint pas : {names}. Vérifiez que ces serveurs tournent.",
                detail_en=f"{service} cannot reach: {names}. Check that these servers run.",
                instance="/readyz",
                missing=missing,
                checks=checks,
            )
        )

    return router
