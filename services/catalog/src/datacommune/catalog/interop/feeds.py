"""The Atom feed of what opens: one entry per dataset each time files of it become public —
a release opening at a council, or a plain publication."""

from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from xml.etree import ElementTree as ET

from fastapi import APIRouter, Query, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from datacommune.catalog.deps import Session, SettingsDep
from datacommune.catalog.tables import Dataset, OpenedRelease, Resource, Version
from datacommune.shared import fields
from datacommune.shared.http import TEXT

ATOM = "http://www.w3.org/2005/Atom"
router = APIRouter(prefix="/api/v1", tags=["moissonnage / harvesting"])


async def openings(
    session: AsyncSession, *, organization: str | None, limit: int
) -> list[dict[str, Any]]:
    """The latest openings, newest first: (dataset, moment) with its files and release."""
    query = (
        select(Version, Resource, Dataset)
        .join(Resource, Resource.id == Version.resource_id)
        .join(Dataset, Dataset.id == Resource.dataset_id)
        .where(Version.public.is_(True), Version.public_at.is_not(None))
        .order_by(Version.public_at.desc())
        .limit(limit * 20)
    )
    if organization:
        query = query.where(Dataset.organization == organization)
    entries: dict[tuple[str, datetime], dict[str, Any]] = {}
    for version, resource, dataset in (await session.execute(query)).all():
        assert version.public_at is not None
        key = (dataset.slug, version.public_at)
        entry = entries.setdefault(
            key,
            {"dataset": dataset, "at": version.public_at, "files": [], "release": None},
        )
        entry["files"].append(resource.title)
        if version.release_id:
            entry["release"] = version.release_id
    found = list(entries.values())[:limit]
    releases = {e["release"] for e in found if e["release"]}
    if releases:
        rows = await session.scalars(
            select(OpenedRelease).where(OpenedRelease.release_id.in_(releases))
        )
        titles = {r.release_id: r for r in rows}
        for e in found:
            e["release"] = titles.get(e["release"])
    return found


def atom(entries: list[dict[str, Any]], *, public_url: str, title: str, self_url: str) -> bytes:
    """The feed document; every text goes through ElementTree, so nothing is markup."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed", {"xml:lang": "fr"})
    ET.SubElement(feed, f"{{{ATOM}}}title").text = f"{title} — nouvelles données"
    ET.SubElement(feed, f"{{{ATOM}}}id").text = self_url
    ET.SubElement(feed, f"{{{ATOM}}}link", {"rel": "self", "href": self_url})
    updated = entries[0]["at"].isoformat() if entries else "1970-01-01T00:00:00+00:00"
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = updated
    for e in entries:
        dataset: Dataset = e["dataset"]
        url = f"{public_url}/api/v1/datasets/{dataset.slug}"
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        ET.SubElement(entry, f"{{{ATOM}}}title").text = dataset.title
        ET.SubElement(entry, f"{{{ATOM}}}id").text = f"{url}#{e['at'].isoformat()}"
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = e["at"].isoformat()
        ET.SubElement(entry, f"{{{ATOM}}}link", {"href": url})
        author = ET.SubElement(entry, f"{{{ATOM}}}author")
        ET.SubElement(author, f"{{{ATOM}}}name").text = dataset.organization
        release = e["release"]
        files = ", ".join(sorted(set(e["files"])))
        summary = f"Fichiers ouverts : {files}."
        if release is not None:
            moment = release.local_event_title or release.title
            summary = f"Ouvert avec « {moment} ». " + summary
        ET.SubElement(entry, f"{{{ATOM}}}summary").text = summary
    return bytes(ET.tostring(feed, encoding="utf-8", xml_declaration=True))


@router.get(
    "/feeds/datasets.atom",
    response_class=Response,
    responses={200: {"content": {"application/atom+xml": TEXT}}},
    summary="Flux Atom des données ouvertes / Atom feed of opened data",
)
async def datasets_feed(
    session: Session,
    settings: SettingsDep,
    organization: fields.OrganizationQuery = None,
    limit: int = Query(default=50, ge=1, le=500),
) -> Response:
    """One entry per dataset each time files of it open (a release, or a publication)."""
    entries = await openings(session, organization=organization or None, limit=limit)
    base = settings.http.public_url
    query = f"?{urlencode({'organization': organization})}" if organization else ""
    self_url = f"{base}/api/v1/feeds/datasets.atom{query}"
    body = atom(entries, public_url=base, title=settings.catalog_title, self_url=self_url)
    return Response(body, media_type="application/atom+xml; charset=utf-8")
