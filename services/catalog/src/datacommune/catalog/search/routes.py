"""Finding datasets: French words, filters, facets and cursor pages."""

from typing import Any, Literal

from fastapi import APIRouter, Query

from datacommune.catalog import search
from datacommune.catalog.core import datasets
from datacommune.catalog.deps import Session, SettingsDep
from datacommune.catalog.search import schemas
from datacommune.shared import fields

router = APIRouter(prefix="/api/v1")


@router.get("/datasets", tags=["jeux de données / datasets"], response_model=schemas.SearchResults)
async def list_datasets(
    session: Session,
    settings: SettingsDep,
    q: str | None = fields.line_query(200, "Mots cherchés / words"),
    organization: fields.OrganizationQuery = None,
    territory: fields.TerritoryQuery = None,
    schema: str | None = fields.line_query(200),
    theme: str | None = fields.line_query(16),
    licence: str | None = fields.line_query(64),
    format: str | None = fields.line_query(16),
    sort: Literal["relevance", "date"] = "relevance",
    cursor: str | None = fields.line_query(500),
    page_size: int = Query(default=20, ge=1, le=1000),
) -> dict[str, Any]:
    """Search in French (accents, case and word endings ignored), with filters and facets.

    Pages follow ``next_cursor``: there is no ceiling on how far one can go.
    """
    results = await search.find(
        session,
        search.Query(
            q=q or "",
            organization=organization or None,
            territory=territory or None,
            schema=schema,
            theme=theme,
            licence=licence,
            format=format,
            sort=sort,
            cursor=cursor,
            limit=page_size,
        ),
    )
    return {
        "total": results.total,
        "total_estimated": results.total_estimated,
        "facets_estimated": results.facets_estimated,
        "items": await datasets.summaries(session, results.ids, settings.http.public_url),
        "facets": results.facets,
        "next_cursor": results.next_cursor,
    }
