"""RFC 9457 problem details: every error any service returns has this one shape.

A person may read these, so ``title`` and ``detail`` are in French and ``title_en`` and
``detail_en`` carry the English. Invalid data is not an error: a validation report with errors is
a result and is served with 200.
"""

from http import HTTPStatus
from typing import Any, ClassVar

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

MEDIA_TYPE = "application/problem+json"

log = structlog.get_logger()


class Problem(Exception):
    """An error with a stable type URI; subclasses set the class attributes."""

    type: ClassVar[str] = "about:blank"
    title: ClassVar[str] = "Erreur"
    title_en: ClassVar[str] = "Error"
    status: ClassVar[int] = 400

    def __init__(self, detail: str, detail_en: str, **extensions: Any) -> None:
        super().__init__(detail_en)
        self.detail = detail
        self.detail_en = detail_en
        self.extensions = extensions

    def body(self, instance: str | None = None) -> dict[str, Any]:
        """The JSON object sent to the client."""
        return problem_body(
            type_=self.type,
            title=self.title,
            title_en=self.title_en,
            status=self.status,
            detail=self.detail,
            detail_en=self.detail_en,
            instance=instance,
            **self.extensions,
        )


def problem_body(
    *,
    type_: str,
    title: str,
    title_en: str,
    status: int,
    detail: str,
    detail_en: str,
    instance: str | None = None,
    **extensions: Any,
) -> dict[str, Any]:
    """Assemble a problem object; extensions never override the standard members."""
    body: dict[str, Any] = dict(extensions)
    body.update(
        type=type_,
        title=title,
        status=status,
        detail=detail,
        title_en=title_en,
        detail_en=detail_en,
    )
    if instance:
        body["instance"] = instance
    return body


def problem_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    """Send a problem object with its media type."""
    return JSONResponse(body, status_code=body["status"], media_type=MEDIA_TYPE, headers=headers)


class Unauthorized(Problem):
    type = "/problems/unauthorized"
    title = "Authentification requise"
    title_en = "Authentication required"
    status = 401


class Forbidden(Problem):
    type = "/problems/forbidden"
    title = "Accès refusé"
    title_en = "Forbidden"
    status = 403


class NotFound(Problem):
    type = "/problems/not-found"
    title = "Introuvable"
    title_en = "Not found"
    status = 404


class Conflict(Problem):
    type = "/problems/conflict"
    title = "Conflit"
    title_en = "Conflict"
    status = 409


# What a person should read when the framework itself refuses a request.
_HTTP_MESSAGES: dict[int, tuple[str, str]] = {
    404: (
        "Cette adresse n'existe pas. Consultez /docs pour la liste des adresses.",
        "No such address. See /docs for the list of endpoints.",
    ),
    405: (
        "Cette méthode n'est pas acceptée à cette adresse.",
        "This method is not allowed at this address.",
    ),
}


def install(app: FastAPI) -> None:
    """Render every error of ``app`` as problem JSON, validation errors and crashes included."""

    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return problem_response(exc.body(request.url.path), headers)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        phrase = HTTPStatus(exc.status_code).phrase
        fr, en = _HTTP_MESSAGES.get(exc.status_code, (str(exc.detail), str(exc.detail)))
        body = problem_body(
            type_="about:blank",
            title=phrase,
            title_en=phrase,
            status=exc.status_code,
            detail=fr,
            detail_en=en,
            instance=request.url.path,
        )
        return problem_response(body, dict(exc.headers) if exc.headers else None)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        body = problem_body(
            type_="/problems/invalid-request",
            title="Requête invalide",
            title_en="Invalid request",
            status=422,
            detail="Certains champs de la requête sont absents ou mal formés ; voir `errors`.",
            detail_en="Some request fields are missing or malformed; see `errors`.",
            instance=request.url.path,
            errors=errors,
        )
        return problem_response(body)

    async def on_crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled_error", path=request.url.path)
        body = problem_body(
            type_="/problems/internal-error",
            title="Erreur interne",
            title_en="Internal error",
            status=500,
            detail="Une erreur inattendue s'est produite ; réessayez, et signalez-la si elle persiste.",
            detail_en="An unexpected error occurred; retry, and report it if it persists.",
            instance=request.url.path,
        )
        return problem_response(body)

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(Exception, on_crash)
