"""The read part of CKAN's Action API v3, so CKAN harvesters and ``ckanapi`` work unchanged.

Answers use CKAN's envelope (``help``, ``success``, ``result``), errors included: a CKAN client
expects ``{"success": false, "error": {"__type": "Not Found Error"}}``, not a problem document.
This is the one place the catalogue speaks another API's dialect, on purpose.
"""

import json
import re
import uuid
from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from datacommune.catalog.core import formats, metadata
from datacommune.catalog.deps import Session, SettingsDep
from datacommune.catalog.interop import ckan_search, schemas, solr, wording
from datacommune.catalog.tables import Dataset, Organization, RemoteResource, Resource, Version

# CKAN's error envelope, as its clients read it; declared so the OpenAPI document says what a
# CKAN route really answers (not a problem document).
_CKAN_ERROR: dict[str, Any] = {
    "description": "Erreur dans l'enveloppe de CKAN / CKAN's error envelope",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["success", "error"],
                "properties": {
                    "help": {"type": "string"},
                    "success": {"const": False},
                    "error": {
                        "type": "object",
                        "required": ["__type", "message"],
                        "properties": {"__type": {"type": "string"}, "message": {"type": "string"}},
                    },
                },
            }
        }
    },
}

# Mounted at /api/3/action and at /api/action, as CKAN does (ckanapi calls the latter).
# Each action answers with its own JSONResponse (the envelope, or CKAN's error): its
# ``response_model`` documents the result and never checks it.
router = APIRouter(tags=["CKAN (lecture / read)"], responses={404: _CKAN_ERROR, 409: _CKAN_ERROR})
PREFIXES = ("/api/3/action", "/api/action")
# Tag ids derive from tag names (CKAN gives each tag a UUID).
_TAGS = uuid.UUID("4f6c2a0e-8d1b-4c7a-9e35-2b0d6f1a7c93")


def _envelope(request: Request, result: Any) -> JSONResponse:
    return JSONResponse({"help": str(request.url), "success": True, "result": result})


def _error(request: Request, kind: str, message: str, status: int) -> JSONResponse:
    body = {
        "help": str(request.url),
        "success": False,
        "error": {"__type": kind, "message": message},
    }
    return JSONResponse(body, status_code=status)


class InvalidParameters(Exception):
    """A parameter no CKAN action can take (a NUL, which PostgreSQL text cannot hold)."""


async def on_invalid_parameters(request: Request, exc: Exception) -> JSONResponse:
    """CKAN's own answer to a bad parameter: a « Validation Error » in its envelope."""
    return _error(request, "Validation Error", str(exc), 409)


async def _params(request: Request) -> dict[str, Any]:
    """CKAN clients send parameters in the query string (GET) or a JSON body (POST)."""
    params: dict[str, Any] = dict(request.query_params)
    if request.method == "POST":
        raw = await request.body()
        if raw:
            try:
                body = json.loads(raw)
            except json.JSONDecodeError:
                body = {}
            if isinstance(body, dict):
                params.update(body)
    for key, value in params.items():
        if "\x00" in key or (isinstance(value, str) and "\x00" in value):
            raise InvalidParameters(f"parameter {key!r} holds a NUL character")
    return params


def ckan_time(moment: datetime | None) -> str | None:
    """A time as CKAN writes it: UTC, without offset (``2024-01-31T09:00:00.123456``)."""
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat()


def organization_dict(org: Organization) -> dict[str, Any]:
    """An organization with every key of CKAN's ``organization_show`` (and the revision keys
    udata's harvester still requires)."""
    created = ckan_time(org.created_at)
    return {
        "id": org.slug,
        "name": org.slug,
        "title": org.name,
        "display_name": org.name,
        "type": "organization",
        "is_organization": True,
        "state": "active",
        "approval_status": "approved",
        "description": "",
        "image_url": "",
        "image_display_url": "",
        "created": created,
        "revision_id": "",
        "revision_timestamp": created,
        "extras": [
            {"key": k, "value": v}
            for k, v in (("kind", org.kind), ("siren", org.siren), ("insee_code", org.insee_code))
            if v
        ],
    }


def _format(media_type: str | None, filename: str | None = None) -> str:
    found = formats.of(media_type, filename)
    return found.name.upper() if found else ""


def resource_dict(resource: Resource, dataset: Dataset, public_url: str) -> dict[str, Any]:
    """A file published here, with every key of CKAN's ``resource_show``; its URL always
    serves the latest version, whose size and SHA-256 (``hash``, hex, as CKAN keeps it) it
    gives."""
    latest: Version | None = resource.versions[-1] if resource.versions else None
    url = f"{public_url}/api/v1/datasets/{dataset.slug}/resources/{resource.key}/latest"
    kind = _format(latest.media_type, latest.filename) if latest else ""
    return {
        "id": str(resource.id),
        "package_id": str(dataset.id),
        "name": resource.title,
        "description": wording.version_summary(latest, kind) if latest else "",
        "url": url,
        "url_type": None,
        "resource_type": "file",
        "format": kind,
        "mimetype": formats.bare(latest.media_type) if latest else None,
        "mimetype_inner": None,
        "size": latest.size if latest else None,
        "hash": latest.sha256 if latest else "",
        "created": ckan_time(resource.created_at),
        "last_modified": ckan_time(latest.published_at) if latest else None,
        "metadata_modified": ckan_time(latest.published_at if latest else resource.created_at),
        "cache_url": None,
        "cache_last_updated": None,
        "datastore_active": False,
        "state": "active",
        "position": 0,
        "schema": latest.schema_id if latest else None,
    }


def remote_resource_dict(resource: RemoteResource, dataset: Dataset) -> dict[str, Any]:
    """A harvested file: its URL is the source's own (the bytes are not kept here)."""
    return {
        "id": str(resource.id),
        "package_id": str(dataset.id),
        "name": resource.title,
        "description": "",
        "url": resource.url,
        "url_type": None,
        "resource_type": "file",
        "format": (resource.format or "").upper(),
        "mimetype": resource.media_type,
        "mimetype_inner": None,
        "size": resource.size,
        "hash": "",
        "created": ckan_time(dataset.created_at),
        "last_modified": ckan_time(dataset.updated_at),
        "metadata_modified": ckan_time(dataset.updated_at),
        "cache_url": None,
        "cache_last_updated": None,
        "datastore_active": False,
        "state": "active",
        "position": resource.position,
        "schema": None,
    }


def tag_dict(keyword: str) -> dict[str, Any] | None:
    """A keyword as a CKAN tag (its id derived from its name: the same tag, the same id)."""
    name = ckan_tag(keyword)
    if not name:
        return None
    return {
        "id": str(uuid.uuid5(_TAGS, name)),
        "name": name,
        "display_name": name,
        "state": "active",
        "vocabulary_id": None,
    }


def group_dict(theme: str) -> dict[str, Any]:
    """A theme as a CKAN group."""
    label = metadata.THEMES.get(theme, theme)
    return {
        "id": theme,
        "name": theme,
        "title": label,
        "display_name": label,
        "description": "",
        "image_display_url": "",
        "type": "group",
        "is_organization": False,
        "state": "active",
    }


def package_dict(dataset: Dataset, org: Organization | None, public_url: str) -> dict[str, Any]:
    """A dataset with every key of CKAN 2.10/2.11's ``package_show`` (null where unknown), as
    ckanext-harvest imports it from a search and udata's harvester validates it."""
    resources = [resource_dict(r, dataset, public_url) for r in dataset.resources]
    resources += [remote_resource_dict(r, dataset) for r in dataset.remote_resources]
    for position, resource in enumerate(resources):
        resource["position"] = position
    tags = [t for keyword in dataset.keywords or [] if (t := tag_dict(keyword))]
    contact = dataset.contact_point or ""
    return {
        "id": str(dataset.id),
        "name": dataset.slug,
        "title": dataset.title,
        "notes": dataset.description,
        "type": "dataset",
        "state": "active",
        "private": False,
        "version": None,
        "author": org.name if org else None,
        "author_email": None,
        "maintainer": org.name if org else None,
        "maintainer_email": contact if "@" in contact else None,
        "license_id": dataset.licence,
        "license_title": metadata.LICENCES.get(dataset.licence, dataset.licence),
        "license_url": metadata.LICENCE_URIS.get(dataset.licence),
        "isopen": dataset.licence in metadata.LICENCES,
        "owner_org": dataset.organization,
        "organization": organization_dict(org) if org else None,
        "creator_user_id": None,
        "metadata_created": ckan_time(dataset.created_at),
        "metadata_modified": ckan_time(dataset.updated_at),
        # The dataset's page, for people: what a harvester links back to as the source.
        "url": f"{public_url}/jeux-de-donnees/{dataset.slug}",
        "tags": tags,
        "num_tags": len(tags),
        "groups": [group_dict(dataset.theme)] if dataset.theme else [],
        "resources": resources,
        "num_resources": len(resources),
        "relationships_as_object": [],
        "relationships_as_subject": [],
        "extras": [
            {"key": key, "value": value}
            for key, value in (
                ("theme", dataset.theme),
                ("frequency", dataset.frequency),
                # Not « spatial »: CKAN's spatial extension expects GeoJSON there.
                ("insee_codes", ",".join(dataset.spatial or [])),
                ("temporal_start", _day(dataset.temporal_start)),
                ("temporal_end", _day(dataset.temporal_end)),
                ("api_url", f"{public_url}/api/v1/datasets/{dataset.slug}"),
                # Where a harvested dataset comes from, as ckanext-harvest says it.
                *(
                    (
                        ("harvest_source_id", str(dataset.harvest.source_id)),
                        ("harvest_source_url", dataset.harvest.source.url),
                        ("harvest_url", dataset.harvest.identity),
                    )
                    if dataset.harvest
                    else ()
                ),
            )
            if value
        ],
    }


def _day(day: date | None) -> str | None:
    return day.isoformat() if day else None


def ckan_tag(keyword: str) -> str:
    """A keyword as CKAN's tag validator accepts it: letters, digits, space, - _ . ; 2–100."""
    tag = re.sub(r"[^\w .-]+", " ", keyword).strip()
    tag = re.sub(r"\s+", " ", tag)[:100]
    return tag if len(tag) >= 2 else ""


def _number(params: dict[str, Any], name: str, default: int, ceiling: int) -> int:
    value = params.get(name, default)
    if value is None or isinstance(value, bool):
        raise ValueError(name)
    return max(0, min(int(value), ceiling))


async def _organizations(session: Any) -> dict[str, Organization]:
    return {o.slug: o for o in (await session.scalars(select(Organization))).all()}


@router.post("/status_show", response_model=schemas.CkanStatusShow)
@router.get("/status_show", response_model=schemas.CkanStatusShow)
async def status_show(request: Request, settings: SettingsDep) -> JSONResponse:
    return _envelope(
        request,
        {
            "ckan_version": "2.10.0",
            "site_title": "datacommune",
            "site_description": "Données ouvertes des collectivités",
            "site_url": settings.http.public_url,
            "locale_default": "fr",
            "extensions": [],
        },
    )


@router.post("/package_list", response_model=schemas.CkanPackageList)
@router.get("/package_list", response_model=schemas.CkanPackageList)
async def package_list(request: Request, session: Session) -> JSONResponse:
    params = await _params(request)
    try:
        limit = _number(params, "limit", 10_000, 100_000)
        offset = _number(params, "offset", 0, 10**9)
    except (ValueError, TypeError):
        return _error(request, "Validation Error", "limit and offset must be integers", 409)
    slugs = await session.scalars(
        select(Dataset.slug)
        .where(Dataset.public)
        .order_by(Dataset.slug)
        .limit(limit)
        .offset(offset)
    )
    return _envelope(request, list(slugs.all()))


@router.post("/package_search", response_model=schemas.CkanPackageSearch)
@router.get("/package_search", response_model=schemas.CkanPackageSearch)
async def package_search(request: Request, session: Session, settings: SettingsDep) -> JSONResponse:
    """Solr's ``q`` and ``fq`` (and ``fq_list``) as CKAN harvesters send them, ``sort`` on the
    fields they use, ``facet.field`` with counts, ``rows`` (0: the count alone) and ``start``."""
    params = await _params(request)
    try:
        rows = _number(params, "rows", 10, 1000)
        start = _number(params, "start", 0, 10**9)
        facet_limit = int(params.get("facet.limit", 50))
        facet_fields = _facet_fields(params.get("facet.field"))
    except (ValueError, TypeError):
        return _error(request, "Validation Error", "rows, start and facet.limit are integers", 409)
    fq_list = params.get("fq_list") or []
    queries = [str(params.get("q") or ""), str(params.get("fq") or "")]
    queries += [str(f) for f in (fq_list if isinstance(fq_list, list) else [fq_list])]
    given = params.get("sort")
    # A JSON body may send a list of sorts; the answer echoes the parameter as sent.
    sort = ", ".join(map(str, given)) if isinstance(given, list) else str(given or "")
    sort = sort or "score desc, metadata_modified desc"
    try:
        found = await ckan_search.find(
            session, queries, sort=sort, rows=rows, start=start, facets=facet_fields
        )
    except solr.QueryError as exc:
        return _error(request, "Search Query Error", f"Search error: {exc}", 409)
    orgs = await _organizations(session)
    url = settings.http.public_url
    limit = None if facet_limit < 0 else facet_limit
    return _envelope(
        request,
        {
            "count": found.count,
            "sort": given if given is not None else sort,
            "results": [package_dict(d, orgs.get(d.organization), url) for d in found.datasets],
            "facets": {f: dict(counts[:limit]) for f, counts in found.facets.items()},
            "search_facets": {
                f: {
                    "title": f,
                    "items": [
                        {"name": v, "display_name": _display(f, v, orgs), "count": n}
                        for v, n in counts[:limit]
                    ],
                }
                for f, counts in found.facets.items()
            },
        },
    )


def _facet_fields(value: Any) -> list[str]:
    """``facet.field``: a JSON list (as CKAN documents it) or one name."""
    if not value:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    text = str(value)
    if text.startswith("["):
        names = json.loads(text)
        if not isinstance(names, list):
            raise ValueError("facet.field")
        return [str(v) for v in names]
    return [text]


def _display(field: str, value: str, orgs: dict[str, Organization]) -> str:
    if field == "organization" and value in orgs:
        return orgs[value].name
    if field == "license_id":
        return metadata.LICENCES.get(value, value)
    return value


@router.post("/package_show", response_model=schemas.CkanPackageShow)
@router.get("/package_show", response_model=schemas.CkanPackageShow)
async def package_show(request: Request, session: Session, settings: SettingsDep) -> JSONResponse:
    params = await _params(request)
    key = str(params.get("id") or params.get("name") or "")
    dataset = await session.scalar(select(Dataset).where(Dataset.slug == key))
    if dataset is None:
        try:
            dataset = await session.get(Dataset, uuid.UUID(key))
        except ValueError:
            dataset = None
    if dataset is not None and not dataset.public:
        dataset = None  # embargoed: as if it did not exist
    if dataset is None:
        return _error(request, "Not Found Error", "Not found", 404)
    org = await session.get(Organization, dataset.organization)
    return _envelope(request, package_dict(dataset, org, settings.http.public_url))


@router.post("/resource_show", response_model=schemas.CkanResourceShow)
@router.get("/resource_show", response_model=schemas.CkanResourceShow)
async def resource_show(request: Request, session: Session, settings: SettingsDep) -> JSONResponse:
    params = await _params(request)
    try:
        resource = await session.get(Resource, uuid.UUID(str(params.get("id", ""))))
    except ValueError:
        resource = None
    if resource is None:
        return await _remote_resource_show(request, session, str(params.get("id", "")))
    if not resource.public:
        return _error(request, "Not Found Error", "Not found", 404)
    dataset = await session.get(Dataset, resource.dataset_id)
    assert dataset is not None
    return _envelope(request, resource_dict(resource, dataset, settings.http.public_url))


async def _remote_resource_show(request: Request, session: Any, key: str) -> JSONResponse:
    try:
        remote = await session.get(RemoteResource, uuid.UUID(key))
    except ValueError:
        remote = None
    dataset = await session.get(Dataset, remote.dataset_id) if remote is not None else None
    if remote is None or dataset is None or not dataset.public:
        return _error(request, "Not Found Error", "Not found", 404)
    return _envelope(request, remote_resource_dict(remote, dataset))


@router.post("/organization_list", response_model=schemas.CkanOrganizationList)
@router.get("/organization_list", response_model=schemas.CkanOrganizationList)
async def organization_list(request: Request, session: Session) -> JSONResponse:
    params = await _params(request)
    orgs = sorted((await _organizations(session)).values(), key=lambda o: o.slug)
    if str(params.get("all_fields", "")).lower() in ("true", "1"):
        return _envelope(request, [organization_dict(o) for o in orgs])
    return _envelope(request, [o.slug for o in orgs])


@router.post("/organization_show", response_model=schemas.CkanOrganizationShow)
@router.get("/organization_show", response_model=schemas.CkanOrganizationShow)
async def organization_show(
    request: Request, session: Session, settings: SettingsDep
) -> JSONResponse:
    params = await _params(request)
    org = await session.get(Organization, str(params.get("id", "")))
    if org is None:
        return _error(request, "Not Found Error", "Not found", 404)
    result = organization_dict(org)
    owned = (
        await session.scalars(
            select(Dataset).where(Dataset.organization == org.slug, Dataset.public)
        )
    ).all()
    result["package_count"] = len(owned)
    if str(params.get("include_datasets", "")).lower() in ("true", "1"):
        url = settings.http.public_url
        result["packages"] = [package_dict(d, org, url) for d in owned]
    return _envelope(request, result)


def _truthy(value: Any) -> bool:
    return str(value).lower() in ("true", "1", "yes")


@router.post("/group_list", response_model=schemas.CkanGroupList)
@router.get("/group_list", response_model=schemas.CkanGroupList)
async def group_list(request: Request, session: Session) -> JSONResponse:
    """The themes of public datasets, as CKAN groups."""
    params = await _params(request)
    themes = await session.scalars(
        select(Dataset.theme)
        .where(Dataset.public.is_(True), Dataset.theme.is_not(None))
        .distinct()
        .order_by(Dataset.theme)
    )
    names = [t for t in themes.all() if t]
    if _truthy(params.get("all_fields", "")):
        return _envelope(request, [group_dict(t) for t in names])
    return _envelope(request, names)


@router.post("/tag_list", response_model=schemas.CkanTagList)
@router.get("/tag_list", response_model=schemas.CkanTagList)
async def tag_list(request: Request, session: Session) -> JSONResponse:
    """The tags of public datasets; ``query`` keeps those containing it."""
    params = await _params(request)
    lists = await session.scalars(select(Dataset.keywords).where(Dataset.public.is_(True)))
    names = sorted({t for keywords in lists.all() for k in keywords or [] if (t := ckan_tag(k))})
    if wanted := str(params.get("query") or params.get("q") or "").lower():
        names = [n for n in names if wanted in n.lower()]
    if _truthy(params.get("all_fields", "")):
        return _envelope(request, [tag_dict(n) for n in names])
    return _envelope(request, names)


@router.post("/license_list", response_model=schemas.CkanLicenseList)
@router.get("/license_list", response_model=schemas.CkanLicenseList)
async def license_list(request: Request) -> JSONResponse:
    """The licences datasets here may carry, all open."""
    return _envelope(
        request,
        [
            {
                "id": licence,
                "title": title,
                "url": metadata.LICENCE_URIS.get(licence, ""),
                "status": "active",
                "is_okd_compliant": True,
                "is_osi_compliant": False,
                "is_generic": False,
                "od_conformance": "approved",
                "osd_conformance": "not reviewed",
                "domain_content": False,
                "domain_data": True,
                "domain_software": False,
                "family": "",
                "maintainer": "",
            }
            for licence, title in metadata.LICENCES.items()
        ],
    )


@router.post("/site_read", response_model=schemas.CkanSiteRead)
@router.get("/site_read", response_model=schemas.CkanSiteRead)
async def site_read(request: Request) -> JSONResponse:
    """Whether the site may be read: always."""
    return _envelope(request, True)


@router.post(
    "/current_package_list_with_resources", response_model=schemas.CkanPackageListWithResources
)
@router.get(
    "/current_package_list_with_resources", response_model=schemas.CkanPackageListWithResources
)
async def current_package_list_with_resources(
    request: Request, session: Session, settings: SettingsDep
) -> JSONResponse:
    """Public datasets with their resources, most recently modified first (``limit``,
    ``offset``, or ``page`` of ``limit``)."""
    params = await _params(request)
    try:
        limit = _number(params, "limit", 100, 1000)
        offset = _number(params, "offset", 0, 10**9)
        if "page" in params:
            offset = (max(1, int(params["page"])) - 1) * limit
    except (ValueError, TypeError):
        return _error(request, "Validation Error", "limit, offset and page are integers", 409)
    found = await session.scalars(
        select(Dataset)
        .where(Dataset.public.is_(True))
        .order_by(Dataset.updated_at.desc(), Dataset.id)
        .limit(limit)
        .offset(offset)
    )
    orgs = await _organizations(session)
    url = settings.http.public_url
    return _envelope(request, [package_dict(d, orgs.get(d.organization), url) for d in found.all()])


# Last, so that every known action is matched first: CKAN's own answer to an unknown one.
@router.api_route("/{action}", methods=["GET", "POST"], include_in_schema=False)
async def unknown_action(request: Request, action: str) -> JSONResponse:
    return _error(
        request, "Bad Request", f"Bad request - Action name not known: {action[:100]}", 400
    )
