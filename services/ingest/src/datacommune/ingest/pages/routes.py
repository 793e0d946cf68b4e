"""The collectivités' space: sign in, drop a file, follow its check, read the report in plain
French, accept the safe repairs or a column mapping, and choose when it opens.

Pages work without JavaScript: a file is sent by a plain form and the upload page refreshes
itself while the file is checked. ``upload.js`` only adds a progress bar while the file is sent,
and proposes a schema and a title from the chosen file's header before it is sent.
Every form answers with a redirection (303) to the page that shows the result, so reloading
never sends a file twice.
"""

import uuid
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import or_, select

from datacommune.ingest import known_schemas, problems, progress, uploads, views
from datacommune.ingest.deps import NodeStatusDep, SettingsDep
from datacommune.ingest.form import receive
from datacommune.ingest.pages import changes, excerpts, mapping
from datacommune.ingest.pages.labels import LABELS
from datacommune.ingest.settings import Settings
from datacommune.ingest.tables import (
    Dataset,
    KnownSchema,
    Organization,
    Release,
    Token,
    Upload,
)
from datacommune.shared import credentials, web
from datacommune.shared.http import RuntimeDep
from datacommune.shared.problems import PAGE_RESPONSES, Problem
from datacommune.shared.process.runtime import Runtime

log = structlog.get_logger()
HERE = Path(__file__).parent
# Findings shown from a report stored before they were grouped (no ``groups``).
SHOWN_ISSUES = 200
# Examples shown per group of findings before « voir les N autres ».
SHOWN_PER_GROUP = 3

PARIS = ZoneInfo("Europe/Paris")

STEPS = ["received", "validating", "checked", "published"]

router = APIRouter(
    prefix="/espace",
    tags=["pages (HTML)"],
    default_response_class=HTMLResponse,
    responses=PAGE_RESPONSES,
)


def install(app: FastAPI, settings: Settings) -> None:
    """The space's pages; forms may post to this service only, the script is ours."""
    web.Pages(HERE / "templates", LABELS, settings.site, script=True).install(app)


async def _principal(
    request: Request, runtime: Runtime, *, need: str
) -> credentials.Principal[Organization] | None:
    return await web.caller(request, runtime.reader, Organization, Token, need=need)


async def _acting(request: Request, runtime: Runtime) -> credentials.Principal[Organization]:
    return await web.form_caller(request, runtime.reader, Organization, Token)


def _to_sign_in(lang: str) -> RedirectResponse:
    return RedirectResponse(web.linker(lang)("/espace/connexion"), status_code=303)


def _lang(request: Request) -> str:
    return web.language(request.query_params.get("lang"))


@router.get("", summary="L'espace d'une collectivité / a collectivité's space")
async def space(request: Request, runtime: RuntimeDep, settings: SettingsDep) -> Response:
    """The organization's uploads, newest first, and what it can do next."""
    lang = _lang(request)
    principal = await _principal(request, runtime, need="viewer")
    if principal is None:
        return _to_sign_in(lang)
    slug = principal.slug
    async with runtime.reader() as session:
        items = (
            await session.scalars(
                select(Upload)
                .where(or_(Upload.organization == slug, Upload.uploaded_by == slug))
                .order_by(Upload.created_at.desc())
                .limit(100)
            )
        ).all()
        planned = await progress.coming_releases(session, slug)
    return web.pages_of(request).render(
        request,
        "space.html",
        lang,
        org=principal.organization,
        items=items,
        planned=[_release(r) for r in planned],
        csrf=web.csrf_of(request),
    )


@router.get("/connexion", summary="Se connecter / sign in")
async def sign_in_page(request: Request) -> HTMLResponse:
    return web.pages_of(request).render(request, "sign_in.html", _lang(request), error=None)


@router.post(
    "/connexion", summary="Se connecter / sign in", status_code=303, response_class=RedirectResponse
)
async def sign_in(request: Request, runtime: RuntimeDep, settings: SettingsDep) -> Response:
    """Check the token, then keep it in an HttpOnly cookie for this browser."""
    lang = _lang(request)
    web.check_origin(request, settings.site)
    fields = await web.small_form(request)
    token = fields.get("token", "").strip()
    try:
        async with runtime.reader() as session:
            await credentials.authenticate(
                session, Organization, token, tokens_model=Token, need="viewer"
            )
    except Problem as problem:
        return web.pages_of(request).render(
            request, "sign_in.html", lang, status_code=problem.status, error=problem
        )
    response = RedirectResponse(web.linker(lang)("/espace"), status_code=303)
    web.sign_in(
        response, token, settings.site, secure=settings.http.public_url.startswith("https://")
    )
    return response


@router.post(
    "/deconnexion",
    summary="Se déconnecter / sign out",
    status_code=303,
    response_class=RedirectResponse,
)
async def sign_out(request: Request, settings: SettingsDep) -> Response:
    web.check_origin(request, settings.site)
    response = RedirectResponse(web.linker(_lang(request))("/espace/connexion"), status_code=303)
    web.sign_out(response, settings.site)
    return response


@router.get("/deposer", summary="Déposer un fichier / upload a file")
async def upload_page(request: Request, runtime: RuntimeDep) -> Response:
    """The upload form, with the organization's datasets and planned releases to choose from."""
    lang = _lang(request)
    principal = await _principal(request, runtime, need="publisher")
    if principal is None:
        return _to_sign_in(lang)
    async with runtime.reader() as session:
        datasets = (
            await session.scalars(
                select(Dataset.slug)
                .where(Dataset.organization == principal.slug)
                .order_by(Dataset.slug)
            )
        ).all()
        planned = await progress.coming_releases(session, principal.slug)
        schemas = await known_schemas.listed(session)
    return web.pages_of(request).render(
        request,
        "upload.html",
        lang,
        datasets=datasets,
        planned=[_release(r) for r in planned],
        schemas=schemas,
        offered=_offered(schemas, principal.organization.name),
        chosen={k: request.query_params.get(k, "") for k in ("dataset", "schema", "release")},
        csrf=web.csrf_of(request),
        error=None,
    )


@router.post(
    "/deposer",
    summary="Déposer un fichier / upload a file",
    status_code=303,
    response_class=RedirectResponse,
)
async def upload(request: Request, runtime: RuntimeDep, settings: SettingsDep) -> Response:
    """The same path as ``POST /api/v1/uploads``, then the upload's page."""
    lang = _lang(request)
    # Who is sending, and whether it fits, before a byte is staged; the form field that proves
    # it comes from our page is in the body, checked once read.
    principal = await _acting(request, runtime)
    form = await receive(
        request.headers,
        request.stream(),
        staging=settings.staging_dir,
        max_bytes=settings.max_upload_bytes,
    )
    try:
        web.check_form(request, form.fields)
        if form.fields.get("release") == "":
            form.fields.pop("release")
        try:
            upload, created = await uploads.accept(
                runtime.sessionmaker,
                runtime.reader,
                runtime.store,
                principal=principal,
                form=form,
                source=settings.source,
            )
        except problems.InvalidField as problem:
            return web.pages_of(request).render(
                request,
                "upload.html",
                lang,
                status_code=problem.status,
                datasets=[],
                planned=[],
                schemas=[],
                offered=None,
                chosen=form.fields,
                csrf=form.fields.get("csrf", ""),
                error=problem,
            )
    finally:
        form.discard()
    if created:
        runtime.relay.wake()
        log.info("file_received", upload_id=str(upload.id), size=upload.size, page=True)
    return RedirectResponse(web.linker(lang)(f"/espace/depots/{upload.id}"), status_code=303)


@router.get("/depots/{upload_id}", summary="Un dépôt et son rapport / an upload and its report")
async def upload_status(
    upload_id: uuid.UUID, request: Request, runtime: RuntimeDep, settings: SettingsDep
) -> Response:
    """Where the file stands; once checked, the report, the repairs and the mapping to accept."""
    lang = _lang(request)
    principal = await _principal(request, runtime, need="viewer")
    if principal is None:
        return _to_sign_in(lang)
    async with runtime.reader() as session:
        try:
            upload = await views.get_upload(
                session, organization=principal.slug, upload_id=upload_id
            )
        except Problem:
            return web.pages_of(request).not_found(request, lang)
        # Plans are their organization's business: a delegate sees none of them.
        own = upload.organization == principal.slug
        planned = await progress.coming_releases(session, upload.organization) if own else []
        chosen = str(uploads.wanted_again(upload).release_id or "")
        waiting = await session.get(Release, uuid.UUID(chosen)) if chosen else None
        if waiting is not None and waiting.organization != upload.organization:
            waiting = None
        # The schema and title are asked of a file still to correct, by its organization: the
        # list and the name only then (the page reloads every 2 s while a file is checked).
        asking = own and upload.status == "invalid"
        schemas = await known_schemas.listed(session) if asking else []
        owner = await session.get(Organization, upload.organization) if asking else None
    report = await views.report_of(runtime.store, upload)
    excerpt = await excerpts.excerpt(runtime, upload, report) if report else None
    checking = upload.status in ("received", "validating")
    return web.pages_of(request).render(
        request,
        "upload_status.html",
        lang,
        upload=upload,
        report=report,
        excerpt=excerpt,
        steps=_steps(upload.status),
        planned=[_release(r) for r in planned],
        waiting=_release(waiting) if waiting else None,
        chosen_release=chosen,
        own=own,
        csrf=web.csrf_of(request),
        shown_issues=SHOWN_ISSUES,
        repair_blocks=changes.grouped(report.get("repair") or {}) if report else [],
        mapping_form=mapping.offered(report) if report and own else None,
        shown_per_group=SHOWN_PER_GROUP,
        validate_url=settings.site.validate_url,
        schemas=schemas,
        choice=_choice(upload, report, schemas, owner.name if owner else upload.organization)
        if asking and report
        else None,
        # While the file is checked the page reloads itself (no script needed); while it waits
        # for its release, now and then, so that it says « Publié » soon after the moment.
        headers={"Refresh": "2"}
        if checking
        else {"Refresh": "30"}
        if upload.status == "scheduled"
        else None,
    )


@router.post(
    "/depots/{upload_id}/nouvel-essai",
    summary="Vérifier à nouveau : corrections, schéma, publication / check again",
    status_code=303,
    response_class=RedirectResponse,
)
async def check_again(
    upload_id: uuid.UUID, request: Request, runtime: RuntimeDep, settings: SettingsDep
) -> Response:
    """The same bytes checked again with what the person chose on the report: the safe repairs
    accepted (``fix``), a schema (the one the report guessed), a column mapping confirmed
    (``mapping``), and when to publish (``release``)."""
    lang = _lang(request)
    principal = await _acting(request, runtime)
    fields = await web.small_form(request)
    web.check_form(request, fields)
    async with runtime.reader() as session:
        upload = await views.get_upload(session, organization=principal.slug, upload_id=upload_id)
    if upload.organization != principal.slug:
        raise problems.not_owner(upload.organization)
    # Checked again by whoever sends the form now: the new version is theirs.
    wanted = replace(
        uploads.wanted_again(upload),
        uploaded_by=principal.slug if principal.slug != upload.organization else None,
        token_id=principal.token_id,
    )
    if fields.get("fix"):
        wanted = replace(wanted, fix=True)
    if schema := fields.get("schema", "").strip():
        if len(schema) > 200:
            raise problems.InvalidField.too_long("schema", 200)
        if schema != wanted.schema_id:
            wanted = replace(wanted, schema_id=schema, mapping=None)
    if title := fields.get("title", "").strip():
        uploads.one_line("title", title, uploads.TITLE_LIMIT)
        await uploads.retitle(runtime.sessionmaker, upload=upload, title=title)
        wanted = replace(wanted, title=title)
    if "release" in fields:
        # Present and empty is an explicit « as soon as it conforms »; absent keeps the plan.
        release = fields["release"].strip()
        try:
            wanted = replace(wanted, release_id=uuid.UUID(release) if release else None)
        except ValueError:
            raise problems.InvalidField.release(release) from None
    if fields.get("mapping"):
        if any(name.startswith("champ-") for name in fields):
            report = await views.report_of(runtime.store, upload) or {}
            columns = mapping.chosen(fields, report)
        else:
            columns = await views.proposed_mapping(runtime.store, upload)
        again, created = await uploads.confirm_mapping(
            runtime.sessionmaker,
            runtime.reader,
            upload=upload,
            columns=columns,
            source=settings.source,
            wanted=wanted,
        )
    else:
        again, created = await uploads.again(
            runtime.sessionmaker,
            runtime.reader,
            upload=upload,
            wanted=wanted,
            source=settings.source,
        )
    if created:
        runtime.relay.wake()
    return RedirectResponse(web.linker(lang)(f"/espace/depots/{again.id}"), status_code=303)


nodes_router = APIRouter(
    tags=["pages (HTML)"],
    default_response_class=HTMLResponse,
    responses=PAGE_RESPONSES,
)


@nodes_router.get(
    "/noeuds",
    summary="Les nœuds des collectivités et leur retard / the nodes and their backlog",
)
async def nodes_page(request: Request, status: NodeStatusDep) -> HTMLResponse:
    """On the hub: each collectivité's ingest node, whether its link is up, and what waits."""
    items = await status.describe() if status else []
    return web.pages_of(request).render(request, "nodes.html", _lang(request), items=items)


def _steps(status: str) -> list[tuple[str, str]]:
    """Each step of the way and whether it is done, current or to come."""
    reached = {
        "received": 0,
        "validating": 1,
        "valid": 2,
        "invalid": 2,
        "rejected": 2,
        "scheduled": 3,
        "published": 3,
    }[status]
    finished = status in ("published", "invalid", "rejected")
    return [
        (
            step,
            "done"
            if i < reached or (i == reached and finished)
            else "current"
            if i == reached
            else "todo",
        )
        for i, step in enumerate(STEPS)
    ]


def _offered(schemas: list[KnownSchema], organization: str) -> dict[str, Any]:
    """What the upload page's script needs to guess a file's schema from its header before it
    is sent, and to suggest a title: each schema's fields, the organization's name."""
    return {
        "organization": organization,
        "year": datetime.now(PARIS).year,
        "schemas": [{"name": s.name, "title": s.title, "fields": s.fields} for s in schemas],
    }


def _choice(
    upload: Upload, report: dict[str, Any], schemas: list[KnownSchema], organization: str
) -> dict[str, str]:
    """The schema and title a file still being corrected is offered with: the schema asked
    for, else the best guess; the title given, else one made from the schema's (« Subventions
    2025 — Roques »), for the person to keep or change."""
    guesses = report.get("schema_guess") or []
    schema = upload.schema_id or (guesses[0]["id"] if guesses else "")
    titles = {s.name: s.title for s in schemas}
    titles.update({g["id"]: g.get("title") or "" for g in guesses})
    schema_title = titles.get(schema) or titles.get(schema.split("@")[0]) or ""
    title = upload.title or (
        known_schemas.suggested_title(
            schema_title, upload.filename, organization, datetime.now(PARIS).date()
        )
        if schema_title
        else ""
    )
    return {"schema": schema, "title": title}


def _release(release: Any) -> dict[str, Any]:
    zone = ZoneInfo(release.timezone)
    opens: datetime | None = release.opens_at
    return {
        "id": str(release.id),
        "title": release.title,
        "event": release.local_event_title,
        "opens_local": opens.astimezone(zone) if opens else None,
        "status": release.status,
    }
