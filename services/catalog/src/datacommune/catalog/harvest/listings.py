"""Listing a source page by page: CKAN's ``package_search`` and OpenDataSoft's Explore API v2.1
catalog here, a DCAT catalogue in ``dcat_listing``.

Each listing yields pages of ``Remote`` datasets and ``Failure`` entries; a page that cannot be
read raises ``SourceError``. ``total`` is what the source said it holds, and ``truncated`` says
the listing stopped at a limit of the source's API: either means the run has not seen
everything, so it must not delete what it did not see.
"""

import json
from collections.abc import AsyncGenerator
from typing import Any

from datacommune.catalog.harvest import records
from datacommune.catalog.harvest.http import Fetcher, SourceError
from datacommune.catalog.harvest.records import Failure, Remote

PAGE_SIZE = 100
MAX_PAGES = 10_000
Entry = Remote | Failure


def json_page(body: bytes, url: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise malformed_page(url, "ce n'est pas du JSON", "it is not JSON") from None


def malformed_page(url: str, why: str, why_en: str) -> SourceError:
    return SourceError(
        "malformed-page",
        f"Une page du portail est illisible : {why}. Vérifiez l'adresse et le type de source.",
        f"A page of the portal cannot be read: {why_en}. Check the address and the source kind.",
        url=url,
    )


def base(url: str, *suffixes: str) -> str:
    """The portal's root: what people paste often ends with the API path."""
    url = url.split("?", 1)[0].rstrip("/")
    for suffix in suffixes:
        if url.endswith(suffix):
            return url[: -len(suffix)].rstrip("/")
    return url


class Listing:
    """What a source holds, read page by page."""

    def __init__(self, fetcher: Fetcher, url: str, filter_: str | None) -> None:
        self.fetcher = fetcher
        self.url = url
        self.filter = filter_ or None
        self.total: int | None = None
        self.truncated = False

    def pages(self) -> AsyncGenerator[list[Entry], None]:
        raise NotImplementedError


class CkanListing(Listing):
    """CKAN's Action API: ``package_search`` with ``rows``/``start``, in a stable order."""

    def __init__(self, fetcher: Fetcher, url: str, filter_: str | None) -> None:
        super().__init__(fetcher, url, filter_)
        self.base = base(url, "/api/3/action/package_search", "/api/3/action", "/api/3", "/api")

    async def pages(self) -> AsyncGenerator[list[Entry], None]:
        endpoint = f"{self.base}/api/3/action/package_search"
        start = 0
        for _ in range(MAX_PAGES):
            params: dict[str, Any] = {"rows": PAGE_SIZE, "start": start, "sort": "id asc"}
            if self.filter:
                params["fq"] = self.filter
            body = json_page((await self.fetcher.get(endpoint, params))[0], endpoint)
            result = body.get("result") if isinstance(body, dict) else None
            if (
                not isinstance(body, dict)
                or body.get("success") is not True
                or not isinstance(result, dict)
                or not isinstance(result.get("results"), list)
                or not isinstance(result.get("count"), int)
            ):
                raise malformed_page(
                    endpoint,
                    "pas de réponse package_search de CKAN",
                    "not a CKAN package_search answer",
                )
            self.total = result["count"]
            found = result["results"]
            yield [self._entry(p) for p in found]
            start += len(found)
            if not found or start >= self.total:
                return
        self.truncated = True

    def _entry(self, package: Any) -> Entry:
        remote_id = None
        try:
            if not isinstance(package, dict):
                raise records.Malformed(
                    "La fiche n'est pas un objet JSON.", "The record is not a JSON object."
                )
            remote_id = records.text(package.get("id")) or None
            if remote_id is None:
                raise records.Malformed("La fiche n'a pas d'« id ».", "The record has no 'id'.")
            return self._remote(remote_id, package)
        except (records.Malformed, KeyError, TypeError, ValueError, AttributeError) as exc:
            return records.malformed(remote_id, exc)

    def _remote(self, remote_id: str, package: dict[str, Any]) -> Entry:
        title = records.text(package.get("title"), limit=300)
        if not title:
            return records.missing_title(remote_id)
        extras = {records.text(e.get("key")): e.get("value") for e in package.get("extras") or []}
        name = records.text(package.get("name")) or remote_id
        uri = records.text(extras.get("uri"))
        resources = package.get("resources") or []
        if not isinstance(resources, list):
            raise records.Malformed(
                "« resources » n'est pas une liste.", "'resources' is not a list."
            )
        files = [
            records.file(
                r.get("name"), r.get("url"), r.get("format"), r.get("mimetype"), r.get("size")
            )
            for r in resources
        ]
        groups = [g.get("name") for g in package.get("groups") or [] if isinstance(g, dict)]
        return Remote(
            remote_id=remote_id,
            identity=uri if uri.startswith("http") else f"{self.base}/dataset/{remote_id}",
            name=name,
            title=title,
            description=records.text(package.get("notes")),
            keywords=records.keywords(
                [t.get("display_name") or t.get("name") for t in package.get("tags") or []]
            ),
            licence=records.licence(
                package.get("license_id"), package.get("license_url"), package.get("license_title")
            ),
            theme=records.theme(extras.get("theme"), *groups),
            spatial=records.insee_codes(records.text(extras.get("insee_codes")).split(",")),
            temporal_start=records.day(extras.get("temporal_start"), "temporal_start"),
            temporal_end=records.day(extras.get("temporal_end"), "temporal_end"),
            modified=records.moment(package.get("metadata_modified"), "metadata_modified"),
            landing_page=f"{self.base}/dataset/{name}",
            files=[f for f in files if f is not None],
        )


class OdsListing(Listing):
    """OpenDataSoft's Explore API v2.1 catalog, with ``limit``/``offset`` (at most 10,000
    datasets: the API refuses offsets beyond; a larger portal is read up to there, and the
    run says so)."""

    CEILING = 10_000

    def __init__(self, fetcher: Fetcher, url: str, filter_: str | None) -> None:
        super().__init__(fetcher, url, filter_)
        self.base = base(
            url, "/api/explore/v2.1/catalog/datasets", "/api/explore/v2.1", "/api/explore"
        )

    async def pages(self) -> AsyncGenerator[list[Entry], None]:
        endpoint = f"{self.base}/api/explore/v2.1/catalog/datasets"
        offset = 0
        while True:
            if offset + PAGE_SIZE > self.CEILING:
                self.truncated = True
                return
            params: dict[str, Any] = {
                "limit": PAGE_SIZE,
                "offset": offset,
                "order_by": "dataset_id",
            }
            if self.filter:
                params["where"] = self.filter
            body = json_page((await self.fetcher.get(endpoint, params))[0], endpoint)
            if (
                not isinstance(body, dict)
                or not isinstance(body.get("results"), list)
                or not isinstance(body.get("total_count"), int)
            ):
                raise malformed_page(
                    endpoint,
                    "pas de réponse du catalogue OpenDataSoft (API v2.1)",
                    "not an OpenDataSoft catalog answer (API v2.1)",
                )
            self.total = body["total_count"]
            found = body["results"]
            yield [self._entry(d) for d in found]
            offset += len(found)
            if not found or offset >= self.total:
                return

    def _entry(self, item: Any) -> Entry:
        remote_id = None
        try:
            if not isinstance(item, dict):
                raise records.Malformed(
                    "La fiche n'est pas un objet JSON.", "The record is not a JSON object."
                )
            remote_id = records.text(item.get("dataset_id")) or None
            if remote_id is None:
                raise records.Malformed(
                    "La fiche n'a pas de « dataset_id ».", "The record has no 'dataset_id'."
                )
            return self._remote(remote_id, item)
        except (records.Malformed, KeyError, TypeError, ValueError, AttributeError) as exc:
            return records.malformed(remote_id, exc)

    def _remote(self, remote_id: str, item: dict[str, Any]) -> Entry:
        metas = item.get("metas") or {}
        default = metas.get("default") or {}
        dcat = metas.get("dcat") or {}
        title = records.text(default.get("title"), limit=300)
        if not title:
            return records.missing_title(remote_id)
        page = f"{self.base}/explore/dataset/{remote_id}/"
        exports = f"{self.base}/api/explore/v2.1/catalog/datasets/{remote_id}/exports"
        files = []
        if item.get("has_records", True):
            formats = ["csv", "json"]
            if "geo" in (item.get("features") or []):
                formats.append("geojson")
            files = [
                records.file(f"Export {fmt.upper()}", f"{exports}/{fmt}", fmt) for fmt in formats
            ]
        for attachment in item.get("attachments") or []:
            if isinstance(attachment, dict) and attachment.get("url"):
                files.append(
                    records.file(
                        attachment.get("title"), attachment["url"], None, attachment.get("mimetype")
                    )
                )
        themes = default.get("theme") or []
        return Remote(
            remote_id=remote_id,
            identity=page,
            name=remote_id,
            title=title,
            description=records.html_text(default.get("description")),
            keywords=records.keywords(default.get("keyword")),
            licence=records.licence(default.get("license"), default.get("license_url")),
            theme=records.theme(*(themes if isinstance(themes, list) else [themes])),
            temporal_start=records.day(dcat.get("temporal_coverage_start"), "temporal"),
            temporal_end=records.day(dcat.get("temporal_coverage_end"), "temporal"),
            modified=records.moment(default.get("modified"), "modified"),
            landing_page=page,
            files=[f for f in files if f is not None],
        )
