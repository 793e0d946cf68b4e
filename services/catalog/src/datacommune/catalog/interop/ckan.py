"""The read part of CKAN's Action API v3, so CKAN harvesters and ``ckanapi`` work unchanged.

Answers use CKAN's envelope (``help``, ``success``, ``result``), errors included: a CKAN client
expects ``{"success": false, "error": {"__type": "Not Found Error"}}``, not a problem document.
This is the one place the catalogue speaks another API's dialect, on purpose.
"""

import json
import re
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from datacommune.catalog import search
from datacommune.catalog.core import metadata
from datacommune.catalog.deps import Session, SettingsDep
from datacommune.catalog.interop import schemas
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
FORMATS = {v: k.upper() for k, v in search.FORMATS.items()}


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


def organization_dict(org: Organization) -> dict[str, Any]:
    return {
        "id": org.slug,
        "name": org.slug,
        "title": org.name,
        "display_name": org.name,
        "type": "organization",
        "is_organization": True,
        "state": "active",
        "description": "",
        "created": org.created_at.isoformat(),
        "extras": [
            {"key": k, "value": v}
            for k, v in (("kind", org.kind), ("siren", org.siren), ("insee_code", org.insee_code))
            if v
        ],
    }


def resource_dict(resource: Resource, dataset: Dataset, public_url: str) -> dict[str, Any]:
    latest: Version | None = resource.versions[-1] if resource.versions else None
    url = f"{public_url}/api/v1/datasets/{dataset.slug}/resources/{resource.key}/latest"
    return {
        "id": str(resource.id),
        "package_id": str(dataset.id),
        "name": resource.title,
        "url": url,
        "format": FORMATS.get(latest.media_type, "") if latest else "",
        "mimetype": latest.media_type if latest else None,
        "size": latest.size if latest else None,
        "hash": f"sha256:{latest.sha256}" if latest else "",
        "created": resource.created_at.isoformat(),
        "last_modified": latest.published_at.isoformat() if latest else None,
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
        "url": resource.url,
        "format": (resource.format or "").upper(),
        "mimetype": resource.media_type,
        "size": resource.size,
        "hash": "",
        "created": dataset.created_at.isoformat(),
        "last_modified": dataset.updated_at.isoformat(),
        "state": "active",
        "position": resource.position,
        "schema": None,
        "url_type": None,
    }


def package_dict(dataset: Dataset, org: Organization | None, public_url: str) -> dict[str, Any]:
    resources = [resource_dict(r, dataset, public_url) for r in dataset.resources]
    resources += [remote_resource_dict(r, dataset) for r in dataset.remote_resources]
    for position, resource in enumerate(resources):
        resource["position"] = position
    tags = [
        {"name": tag, "display_name": keyword, "state": "active"}
        for keyword in dataset.keywords or []
        if (tag := ckan_tag(keyword))
    ]
    return {
        "id": str(dataset.id),
        "name": dataset.slug,
        "title": dataset.title,
        "notes": dataset.description,
        "type": "dataset",
        "state": "active",
        "private": False,
        "license_id": dataset.licence,
        "license_title": metadata.LICENCES.get(dataset.licence, dataset.licence),
        "owner_org": dataset.organization,
        "organization": organization_dict(org) if org else None,
        "metadata_created": dataset.created_at.isoformat(),
        "metadata_modified": dataset.updated_at.isoformat(),
        "url": f"{public_url}/api/v1/datasets/{dataset.slug}",
        "tags": tags,
        "num_tags": len(tags),
        "resources": resources,
        "num_resources": len(resources),
        "extras": [
            {"key": key, "value": value}
            for key, value in (
                ("theme", dataset.theme),
                ("frequency", dataset.frequency),
                # Not « spatial »: CKAN's spatial extension expects GeoJSON there.
                ("insee_codes", ",".join(dataset.spatial or [])),
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


def _fq(fq: str) -> dict[str, str]:
    """CKAN filter queries we understand: ``organization:x``, ``res_format:CSV``, ``license_id:x``."""
    filters = {}
    for part in fq.split():
        key, _, value = part.partition(":")
        value = value.strip('"')
        if key in ("organization", "owner_org"):
            filters["organization"] = value
        elif key == "res_format":
            filters["format"] = value.lower()
        elif key == "license_id":
            filters["licence"] = value
        elif key in ("groups", "theme"):
            filters["theme"] = value
    return filters


@router.get("/status_show", response_model=schemas.CkanStatusShow)
@router.post("/status_show", response_model=schemas.CkanStatusShow)
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


@router.get("/package_list", response_model=schemas.CkanPackageList)
@router.post("/package_list", response_model=schemas.CkanPackageList)
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


@router.get("/package_search", response_model=schemas.CkanPackageSearch)
@router.post("/package_search", response_model=schemas.CkanPackageSearch)
async def package_search(request: Request, session: Session, settings: SettingsDep) -> JSONResponse:
    params = await _params(request)
    try:
        rows = max(1, _number(params, "rows", 10, 1000))
        start = _number(params, "start", 0, 10**9)
    except (ValueError, TypeError):
        return _error(request, "Validation Error", "rows and start must be integers", 409)
    query = str(params.get("q") or "")
    if query in ("*:*", "*"):
        query = ""
    sort = "date" if "metadata_modified" in str(params.get("sort", "")) else "relevance"
    found = await search.find(
        session,
        search.Query(
            q=query, sort=sort, limit=rows, offset=start, **_fq(str(params.get("fq", "")))
        ),
    )
    orgs = await _organizations(session)
    url = settings.http.public_url
    return _envelope(
        request,
        {
            "count": found.total,
            "sort": params.get("sort", "score desc"),
            "results": [package_dict(d, orgs.get(d.organization), url) for d in found.items],
            "facets": {},
            "search_facets": {},
        },
    )


@router.get("/package_show", response_model=schemas.CkanPackageShow)
@router.post("/package_show", response_model=schemas.CkanPackageShow)
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


@router.get("/resource_show", response_model=schemas.CkanResourceShow)
@router.post("/resource_show", response_model=schemas.CkanResourceShow)
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


@router.get("/organization_list", response_model=schemas.CkanOrganizationList)
@router.post("/organization_list", response_model=schemas.CkanOrganizationList)
async def organization_list(request: Request, session: Session) -> JSONResponse:
    params = await _params(request)
    orgs = sorted((await _organizations(session)).values(), key=lambda o: o.slug)
    if str(params.get("all_fields", "")).lower() in ("true", "1"):
        return _envelope(request, [organization_dict(o) for o in orgs])
    return _envelope(request, [o.slug for o in orgs])


@router.get("/organization_show", response_model=schemas.CkanOrganizationShow)
@router.post("/organization_show", response_model=schemas.CkanOrganizationShow)
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
