"""Pages for people, shared by the services that serve them: one look, one language switch, one
sign-in.

Each service renders its own pages from its own data (catalog: the catalogue; ingest: a
commune's uploads and reports; events: its calendar and releases) on a common base template and
style sheet, so that to a person they are one site. Nothing is loaded from elsewhere: the style
sheet and the one script (upload progress) are served by each service under ``/static``.

Signing in stores the organization's token in an HttpOnly cookie. Browsers share a host's
cookies across its ports (and across a parent domain when ``site.cookie_domain`` names one), so
one sign-in serves every service, and each checks the token as it checks a ``Bearer`` header.
A form sent with that cookie must carry ``csrf``, derived from the token: a page of another
site can make a browser send the cookie, but cannot read it to derive the field.
"""

import hashlib
import hmac
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from datacommune.shared import credentials
from datacommune.shared.problems import Forbidden, Problem, Unauthorized
from datacommune.shared.settings import SiteSettings

HERE = Path(__file__).parent
COOKIE = "datacommune_jeton"
# Our own styles, images, forms (and, where a page asks for it, our own script): an injected
# tag could neither load nor send anything elsewhere.
_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action {forms}; "
    "base-uri 'none'; frame-ancestors 'none'{script}"
)

BASE_LABELS: dict[str, dict[str, str]] = {
    "fr": {
        "site": "Données ouvertes du territoire",
        "skip": "Aller au contenu",
        "switch": "English",
        "language": "Langue",
        "sections": "Rubriques",
        "nav_catalog": "Catalogue",
        "nav_space": "Publier (espace des collectivités)",
        "nav_calendar": "À paraître",
        "nav_requests": "Demandes de données",
        "sign_out": "Se déconnecter",
        "not_found": "Page introuvable",
        "not_found_text": "Rien ici : la page demandée n'existe pas, ou pas encore.",
        "home": "Retour à l'accueil",
    },
    "en": {
        "site": "The territory's open data",
        "skip": "Skip to content",
        "switch": "Français",
        "language": "Language",
        "sections": "Sections",
        "nav_catalog": "Catalogue",
        "nav_space": "Publish (for local authorities)",
        "nav_calendar": "Coming releases",
        "nav_requests": "Data requests",
        "sign_out": "Sign out",
        "not_found": "Page not found",
        "not_found_text": "Nothing here: the page does not exist, or not yet.",
        "home": "Back to the home page",
    },
}


class FormTooLong(Problem):
    type = "/problems/form-too-long"
    title = "Formulaire trop long"
    title_en = "Form too long"
    status = 413


def language(lang: str | None) -> str:
    """French unless English is asked for."""
    return "en" if lang == "en" else "fr"


def static_files() -> StaticFiles:
    """The style sheet and script every service serves under ``/static``."""
    return StaticFiles(directory=HERE / "static")


def linker(lang: str) -> Callable[..., str]:
    """A function the templates call to build a link that keeps the language."""

    def link(path: str, params: dict[str, Any] | None = None) -> str:
        pairs = [(k, v) for k, v in (params or {}).items() if v not in (None, "")]
        if lang == "en":
            pairs.append(("lang", "en"))
        separator = "&" if "?" in path else "?"
        return f"{path}{separator}{urlencode(pairs)}" if pairs else path

    return link


class Pages:
    """The templates of one service, on the shared base, and how they become responses."""

    def __init__(
        self,
        templates: Path,
        labels: dict[str, dict[str, str]],
        site: SiteSettings,
        *,
        script: bool = False,
        form_targets: tuple[str, ...] = (),
    ) -> None:
        self.env = Environment(
            loader=ChoiceLoader(
                [FileSystemLoader(templates), FileSystemLoader(HERE / "templates")]
            ),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.labels = {lang: BASE_LABELS[lang] | labels.get(lang, {}) for lang in BASE_LABELS}
        self.site = site
        forms = " ".join(["'self'", *form_targets])
        self.csp = _CSP.format(
            forms=forms, script="; script-src 'self'; connect-src 'self'" if script else ""
        )

    def render(
        self,
        request: Request,
        name: str,
        lang: str,
        *,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
        **context: Any,
    ) -> HTMLResponse:
        other = "fr" if lang == "en" else "en"
        switch = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
        if other == "en":
            switch.append(("lang", "en"))
        html = self.env.get_template(name).render(
            lang=lang,
            t=self.labels[lang],
            link=linker(lang),
            switch_url=request.url.path + ("?" + urlencode(switch) if switch else ""),
            site=self.site,
            **context,
        )
        return HTMLResponse(
            html,
            status_code=status_code,
            headers={
                "Content-Security-Policy": self.csp,
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "same-origin",
                # Pages may show a commune's unpublished files: never kept by a shared cache.
                "Cache-Control": "no-store" if COOKIE in request.cookies else "no-cache",
                **(headers or {}),
            },
        )

    def not_found(self, request: Request, lang: str) -> HTMLResponse:
        return self.render(request, "not_found.html", lang, status_code=404)

    def problem(self, request: Request, body: dict[str, Any]) -> HTMLResponse:
        """A problem as a page, for a person whose browser asked for one."""
        lang = language(request.query_params.get("lang"))
        return self.render(request, "problem.html", lang, status_code=body["status"], problem=body)

    def install(self, app: Any) -> None:
        """Serve the shared assets and show problems as pages to browsers."""
        app.state.pages = self
        app.state.problem_page = self.problem
        app.mount("/static", static_files(), name="static")


def pages_of(request: Request) -> Pages:
    """The pages of the application serving ``request`` (``Pages.install``)."""
    pages: Pages = request.app.state.pages
    return pages


def csrf_for(token: str) -> str:
    """The value a form sent with the sign-in cookie must carry."""
    return hmac.new(b"datacommune-form", token.encode(), hashlib.sha256).hexdigest()[:32]


def check_csrf(token: str, given: str | None) -> None:
    """Refuse a form that did not come from one of our pages."""
    if not given or not hmac.compare_digest(csrf_for(token), given):
        raise Forbidden(
            "Ce formulaire a expiré ou ne vient pas de nos pages : rechargez la page, puis "
            "recommencez.",
            "This form expired or did not come from our pages: reload the page and try again.",
        )


def session_token(request: Request) -> str | None:
    """The token of the person signed in on this browser, if any."""
    return request.cookies.get(COOKIE) or None


def sign_in(response: RedirectResponse, token: str, site: SiteSettings, *, secure: bool) -> None:
    """Remember ``token`` on this browser until it is closed."""
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        secure=secure,
        samesite="strict",
        path="/",
        domain=site.cookie_domain or None,
    )


def sign_out(response: RedirectResponse, site: SiteSettings) -> None:
    response.delete_cookie(COOKIE, path="/", domain=site.cookie_domain or None)


MAX_FORM_BYTES = 64 * 1024


async def small_form(request: Request) -> dict[str, str]:
    """The fields of a short ``application/x-www-form-urlencoded`` form (sign-in, choices)."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormTooLong(
                "Ce formulaire est trop long : aucune de nos pages n'en envoie autant.",
                "This form is too long: none of our pages sends this much.",
            )
    pairs = parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return dict(pairs)


def caller_token(request: Request) -> str | None:
    """The token a request carries: a ``Bearer`` header (scripts) or the sign-in cookie."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return session_token(request)


def needs_csrf(request: Request) -> bool:
    """Only what the browser sends by itself (the cookie) needs the form field."""
    return not request.headers.get("authorization", "").lower().startswith("bearer ")


async def caller(
    request: Request,
    reader: async_sessionmaker[AsyncSession],
    model: type[Any],
    tokens_model: type[Any],
    *,
    need: str,
) -> credentials.Principal[Any] | None:
    """Who is signed in (cookie) or calling (``Bearer``) with the role ``need``; None when no
    one is; a problem when the token is not (or no longer) good."""
    token = caller_token(request)
    if token is None:
        return None
    async with reader() as session:
        return await credentials.authenticate(
            session, model, token, tokens_model=tokens_model, need=need
        )


async def form_caller(
    request: Request,
    reader: async_sessionmaker[AsyncSession],
    model: type[Any],
    tokens_model: type[Any],
) -> credentials.Principal[Any]:
    """The publisher sending a form: signed in (or calling with ``Bearer``), and not from
    another site. Known before the body is read; the form's own field is checked by
    ``check_form`` once it is."""
    principal = await caller(request, reader, model, tokens_model, need="publisher")
    if principal is None:
        raise not_signed_in()
    check_origin(request, request.app.state.settings.site)
    return principal


def check_form(request: Request, fields: dict[str, str]) -> None:
    """A form sent with the sign-in cookie carries the field only our pages derive from it."""
    if needs_csrf(request):
        check_csrf(caller_token(request) or "", fields.get("csrf"))


def not_signed_in() -> Unauthorized:
    return Unauthorized(
        "Connectez-vous d'abord avec le jeton de votre organisation.",
        "Sign in first with your organization's token.",
    )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def check_origin(request: Request, site: SiteSettings) -> None:
    """Refuse a form a browser sends from another site (signing in included, where no token
    exists yet to derive a field from). Browsers say where a request comes from in
    ``Sec-Fetch-Site``, older ones in ``Origin``; scripts with a ``Bearer`` header are not
    browsers carrying a cookie and pass."""
    if not needs_csrf(request):
        return
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise _foreign()
    origin = request.headers.get("origin")
    if origin is None or request.headers.get("sec-fetch-site") in ("same-origin", "same-site"):
        return
    ours = {
        _origin(url)
        for url in (site.catalog_url, site.ingest_url, site.events_url, site.validate_url)
    }
    if origin not in ours | {_origin(str(request.base_url))}:
        raise _foreign()


def _foreign() -> Forbidden:
    return Forbidden(
        "Ce formulaire vient d'un autre site : il est refusé. Utilisez les pages de la plateforme.",
        "This form comes from another site and is refused. Use the platform's pages.",
    )


def csrf_of(request: Request) -> str:
    """The ``csrf`` field the forms of this page carry."""
    return csrf_for(caller_token(request) or "")
