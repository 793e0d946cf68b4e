"""``/healthz`` (the process answers) and ``/readyz`` (its NATS, database and storage answer)."""

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from datacommune.shared.problems import problem_body, problem_response


def health_router(service: str, readiness: Callable[[], Awaitable[dict[str, str]]]) -> APIRouter:
    """Routes for orchestrators and for ``datacommune up`` to wait on."""
    router = APIRouter(tags=["santé / health"])

    @router.get("/healthz", summary="Le processus répond / the process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @router.get(
        "/readyz",
        summary="Ses dépendances répondent / its dependencies answer",
        response_model=None,
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
