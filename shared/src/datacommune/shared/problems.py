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
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

MEDIA_TYPE = "application/problem+json"

log = structlog.get_logger()

# Every problem type this process can answer with: type -> (title, title_en, status).
KNOWN: dict[str, tuple[str, str, int]] = {
    "/problems/invalid-request": ("Requête invalide", "Invalid request", 422),
    "/problems/not-ready": ("Service pas prêt", "Service not ready", 503),
    "/problems/internal-error": ("Erreur interne", "Internal error", 500),
    "/problems/backend-unavailable": (
        "Service momentanément indisponible",
        "Temporarily unavailable",
        503,
    ),
    # Answered by the load balancer in front of the replicas (deploy/haproxy/errors), listed
    # here so that their types resolve on every service.
    "/problems/service-unavailable": (
        "Service momentanément indisponible",
        "Temporarily unavailable",
        503,
    ),
    "/problems/request-interrupted": ("Requête interrompue", "Request interrupted", 502),
    "/problems/service-timeout": ("Délai dépassé", "Gateway timeout", 504),
}
# How long a client is told to wait when a server behind the service is away.
BACKEND_RETRY_SECONDS = 5


class ProblemDoc(BaseModel):
    """RFC 9457 problem details, as every error is sent (``application/problem+json``)."""

    type: str = Field(examples=["/problems/upload-too-large"])
    title: str = Field(examples=["Fichier trop volumineux"])
    status: int = Field(examples=[413])
    detail: str = Field(description="En français : ce qui ne va pas et quoi faire.")
    title_en: str = Field(examples=["File too large"])
    detail_en: str = Field(description="In English: what is wrong and what to do.")
    instance: str | None = None


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {
        "description": "Erreur du client, en problem JSON / client error, as problem JSON",
        "content": {MEDIA_TYPE: {"schema": ProblemDoc.model_json_schema()}},
    },
    "5XX": {
        "description": "Erreur du serveur / server error",
        "content": {MEDIA_TYPE: {"schema": ProblemDoc.model_json_schema()}},
    },
}

# Pages for people answer a browser's errors as a page (the same problem, in French), scripts'
# as problem JSON; a form sent well is followed by a redirect (303, no body).
PAGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    303: {"description": "Redirection vers la page suivante / redirect to the next page"},
    "4XX": {
        "description": "Erreur du client : une page pour un navigateur, sinon problem JSON",
        "content": {
            "text/html": {"schema": {"type": "string"}},
            MEDIA_TYPE: {"schema": ProblemDoc.model_json_schema()},
        },
    },
}


class Problem(Exception):
    """An error with a stable type URI; subclasses set the class attributes."""

    type: ClassVar[str] = "about:blank"
    title: ClassVar[str] = "Erreur"
    title_en: ClassVar[str] = "Error"
    status: ClassVar[int] = 400

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        KNOWN[cls.type] = (cls.title, cls.title_en, cls.status)

    def __init__(self, detail: str, detail_en: str, **extensions: Any) -> None:
        super().__init__(detail_en)
        self.detail = detail
        self.detail_en = detail_en
        self.extensions = extensions
        # Response headers that go with it (e.g. ``Retry-After``).
        self.headers: dict[str, str] = {}

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


class TooManyRequests(Problem):
    type = "/problems/too-many-requests"
    title = "Trop de requêtes"
    title_en = "Too many requests"
    status = 429


class Conflict(Problem):
    type = "/problems/conflict"
    title = "Conflit"
    title_en = "Conflict"
    status = 409


# What a person should read when the framework itself refuses a request: title, detail, in
# French then English.
_HTTP_MESSAGES: dict[int, tuple[str, str, str, str]] = {
    404: (
        "Adresse inconnue",
        "Cette adresse n'existe pas. Consultez /docs pour la liste des adresses.",
        "Not found",
        "No such address. See /docs for the list of endpoints.",
    ),
    405: (
        "Méthode non acceptée",
        "Cette méthode n'est pas acceptée à cette adresse. Consultez /docs.",
        "Method not allowed",
        "This method is not allowed at this address. See /docs.",
    ),
}


def _as_page(request: Request, body: dict[str, Any]) -> Response | None:
    """The problem as a page, for a person whose browser asked for HTML; None for scripts."""
    page = getattr(request.app.state, "problem_page", None)
    if page is None or "text/html" not in request.headers.get("accept", ""):
        return None
    return page(request, body)  # type: ignore[no-any-return]


def install(app: FastAPI) -> None:
    """Render every error of ``app`` as problem JSON, validation errors and crashes included."""

    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Problem)
        if (page := _as_page(request, exc.body(request.url.path))) is not None:
            page.headers.update(exc.headers)
            return page
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
        return problem_response(exc.body(request.url.path), {**headers, **exc.headers})

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        phrase = HTTPStatus(exc.status_code).phrase
        title, fr, title_en, en = _HTTP_MESSAGES.get(
            exc.status_code, (phrase, str(exc.detail), phrase, str(exc.detail))
        )
        body = problem_body(
            type_="about:blank",
            title=title,
            title_en=title_en,
            status=exc.status_code,
            detail=fr,
            detail_en=en,
            instance=request.url.path,
        )
        return problem_response(body, dict(exc.headers) if exc.headers else None)

    async def on_validation(request: Request, exc: Exception) -> Response:
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
        if (page := _as_page(request, body)) is not None:
            return page
        return problem_response(body)

    async def on_crash(request: Request, exc: Exception) -> JSONResponse:
        if backend_away(exc):
            log.warning("backend_unavailable", path=request.url.path, error=repr(exc)[:300])
            body = problem_body(
                type_="/problems/backend-unavailable",
                title="Service momentanément indisponible",
                title_en="Temporarily unavailable",
                status=503,
                detail="Un serveur dont ce service dépend (base de données, stockage des "
                "fichiers) ne répond pas en ce moment ; rien n'a été enregistré. Réessayez dans "
                "quelques secondes.",
                detail_en="A server this service depends on (database, file storage) does not "
                "answer right now; nothing was recorded. Retry in a few seconds.",
                instance=request.url.path,
            )
            return problem_response(body, {"Retry-After": str(BACKEND_RETRY_SECONDS)})
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

    @app.get("/problems/{name}", tags=["erreurs / errors"], include_in_schema=False)
    async def describe_problem(name: str) -> dict[str, Any]:
        """What a problem type means, so that every ``type`` URI resolves."""
        known = KNOWN.get(f"/problems/{name}")
        if known is None:
            raise NotFound(
                f"Aucun type d'erreur « {name} ». La liste est dans docs/problems.md.",
                f"No problem type {name!r}. The list is in docs/problems.md.",
            )
        title, title_en, status = known
        return {"type": f"/problems/{name}", "title": title, "title_en": title_en, "status": status}

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(Exception, on_crash)


def backend_away(exc: BaseException) -> bool:
    """Whether ``exc`` says that a server behind the service (PostgreSQL, the S3 server) is
    away or restarting, rather than that the code is wrong: the caller then gets a 503 to
    retry, not a 500 to report. The whole chain of causes is read (SQLAlchemy and minio wrap
    the connection error)."""
    from sqlalchemy import exc as sa

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionError | TimeoutError):
            return True
        if isinstance(current, sa.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, sa.OperationalError | sa.InterfaceError | sa.DisconnectionError):
            return True
        if type(current).__name__ in _AWAY and type(current).__module__.startswith(_AWAY_MODULES):
            return True
        current = current.__cause__ or current.__context__
    return False


# Errors of the drivers that mean "the server went away", by name, not to import them here:
# asyncpg's (a server shutting down or restarting, a connection lost) and urllib3's (under
# minio: no connection to the S3 server).
_AWAY = {
    "PostgresConnectionError",
    "ConnectionDoesNotExistError",
    "ConnectionFailureError",
    "AdminShutdownError",
    "CrashShutdownError",
    "CannotConnectNowError",
    "MaxRetryError",
    "NewConnectionError",
    "ProtocolError",
}
_AWAY_MODULES = ("asyncpg", "urllib3")
