"""Listing a source page by page: CKAN's ``package_search``, OpenDataSoft's Explore API v2.1
catalog, a DCAT catalogue (JSON-LD, Turtle or RDF/XML) paged with hydra.

Each listing yields pages of ``Remote`` datasets and ``Failure`` entries; a page that cannot be
read raises ``SourceError``. ``total`` is what the source said it holds, and ``truncated`` says
the listing stopped at a limit of the source's API: either means the run has not seen
everything, so it must not delete what it did not see.
"""

import asyncio
import json
import re
from collections.abc import AsyncGenerator
from typing import Any

from rdflib import Graph, Namespace, URIRef
from rdflib import Literal as RDFLiteral
from rdflib.namespace import DCAT, DCTERMS, RDF
from rdflib.term import Node

from datacommune.catalog.harvest import records
from datacommune.catalog.harvest.http import Fetcher, SourceError
from datacommune.catalog.harvest.records import Failure, Remote

PAGE_SIZE = 100
MAX_PAGES = 10_000
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
Entry = Remote | Failure


def _json(body: bytes, url: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise _malformed_page(url, "ce n'est pas du JSON", "it is not JSON") from None


def _malformed_page(url: str, why: str, why_en: str) -> SourceError:
    return SourceError(
        "malformed-page",
        f"Une page du portail est illisible : {why}. Vérifiez l'adresse et le type de source.",
        f"A page of the portal cannot be read: {why_en}. Check the address and the source kind.",
        url=url,
    )


def _base(url: str, *suffixes: str) -> str:
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
        self.base = _base(url, "/api/3/action/package_search", "/api/3/action", "/api/3", "/api")

    async def pages(self) -> AsyncGenerator[list[Entry], None]:
        endpoint = f"{self.base}/api/3/action/package_search"
        start = 0
        for _ in range(MAX_PAGES):
            params: dict[str, Any] = {"rows": PAGE_SIZE, "start": start, "sort": "id asc"}
            if self.filter:
                params["fq"] = self.filter
            body = _json((await self.fetcher.get(endpoint, params))[0], endpoint)
            result = body.get("result") if isinstance(body, dict) else None
            if (
                not isinstance(body, dict)
                or body.get("success") is not True
                or not isinstance(result, dict)
                or not isinstance(result.get("results"), list)
                or not isinstance(result.get("count"), int)
            ):
                raise _malformed_page(
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
        self.base = _base(
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
            body = _json((await self.fetcher.get(endpoint, params))[0], endpoint)
            if (
                not isinstance(body, dict)
                or not isinstance(body.get("results"), list)
                or not isinstance(body.get("total_count"), int)
            ):
                raise _malformed_page(
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


class DcatListing(Listing):
    """A DCAT catalogue: every ``dcat:Dataset`` of each page, following hydra's
    ``nextPage`` (or ``next``) until there is none."""

    async def pages(self) -> AsyncGenerator[list[Entry], None]:
        url: str | None = self.url
        seen: set[str] = set()
        contexts: dict[str, Any] = {}
        while url is not None:
            if url in seen or len(seen) >= MAX_PAGES:
                # A loop of pages (or an endless one): what was read is not the whole.
                self.truncated = True
                return
            seen.add(url)
            body, media_type = await self.fetcher.get(url)
            graph = await self._graph(url, body, media_type, contexts)
            pages = list(graph.subjects(RDF.type, HYDRA.PagedCollection)) + list(
                graph.subjects(RDF.type, HYDRA.PartialCollectionView)
            )
            for page in pages:
                total = graph.value(page, HYDRA.totalItems)
                if isinstance(total, RDFLiteral) and str(total).isdigit():
                    self.total = int(str(total))
            yield [self._entry(graph, node) for node in sorted(set(_datasets(graph)), key=str)]
            following = [
                str(o)
                for s in pages or list(graph.subjects())
                for p in (HYDRA.nextPage, HYDRA.next)
                for o in graph.objects(s, p)
            ]
            url = following[0] if following else None

    async def _graph(
        self, url: str, body: bytes, media_type: str, contexts: dict[str, Any]
    ) -> Graph:
        fmt = _rdf_format(url, body, media_type)
        if fmt == "json-ld":
            document = _json(body, url)
            # Remote contexts are fetched here, within the harvest's limits, never by rdflib.
            for address in _remote_contexts(document):
                if address not in contexts:
                    loaded = _json((await self.fetcher.get(address))[0], address)
                    contexts[address] = (
                        loaded.get("@context", {}) if isinstance(loaded, dict) else {}
                    )
            document = _inline(document, contexts)
            body = json.dumps(document).encode()
        graph = Graph()
        try:
            await asyncio.to_thread(graph.parse, data=body.decode("utf-8"), format=fmt)
        except Exception as exc:
            why = f"{type(exc).__name__}: {exc}"[:200]
            raise _malformed_page(
                url, f"RDF ({fmt}) illisible — {why}", f"unreadable RDF ({fmt}) — {why}"
            ) from None
        return graph

    def _entry(self, graph: Graph, node: Node) -> Entry:
        identifier = _literal(graph, node, DCTERMS.identifier)
        remote_id = identifier or (str(node) if isinstance(node, URIRef) else None)
        if remote_id is None:
            return Failure(
                None,
                "missing-identifier",
                "Un jeu de données du catalogue n'a ni adresse (IRI) ni dct:identifier : il "
                "ne peut pas être suivi d'un moissonnage à l'autre.",
                "A dataset of the catalogue has neither an IRI nor a dct:identifier: it cannot "
                "be followed from one harvest to the next.",
            )
        try:
            return self._remote(graph, node, remote_id[:300], identifier)
        except (records.Malformed, KeyError, TypeError, ValueError, AttributeError) as exc:
            return records.malformed(remote_id, exc)

    def _remote(self, graph: Graph, node: Node, remote_id: str, identifier: str | None) -> Entry:
        title = _literal(graph, node, DCTERMS.title)
        if not title:
            return records.missing_title(remote_id)
        iri = str(node) if isinstance(node, URIRef) else None
        if identifier and "/" not in identifier:
            name = identifier
        else:
            name = (iri or identifier or title).rstrip("/").rsplit("/", 1)[-1]
        files = []
        licences = [str(o) for o in graph.objects(node, DCTERMS.license)]
        for distribution in graph.objects(node, DCAT.distribution):
            address = graph.value(distribution, DCAT.downloadURL) or graph.value(
                distribution, DCAT.accessURL
            )
            licences += [str(o) for o in graph.objects(distribution, DCTERMS.license)]
            files.append(
                records.file(
                    _literal(graph, distribution, DCTERMS.title),
                    str(address) if address is not None else None,
                    graph.value(distribution, DCTERMS.format),
                    graph.value(distribution, DCAT.mediaType),
                    _literal(graph, distribution, DCAT.byteSize),
                )
            )
        period = graph.value(node, DCTERMS.temporal)
        landing = graph.value(node, DCAT.landingPage)
        return Remote(
            remote_id=remote_id,
            identity=iri or identifier or remote_id,
            name=name,
            title=title[:300],
            description=_literal(graph, node, DCTERMS.description) or "",
            keywords=records.keywords(
                [str(k) for k in graph.objects(node, DCAT.keyword) if isinstance(k, RDFLiteral)]
            ),
            licence=records.licence(*licences),
            theme=records.theme(*(str(t) for t in graph.objects(node, DCAT.theme))),
            spatial=records.insee_codes([str(s) for s in graph.objects(node, DCTERMS.spatial)]),
            temporal_start=records.day(_value(graph, period, DCAT.startDate), "dcat:startDate"),
            temporal_end=records.day(_value(graph, period, DCAT.endDate), "dcat:endDate"),
            modified=records.moment(_value(graph, node, DCTERMS.modified), "dct:modified"),
            landing_page=str(landing) if isinstance(landing, URIRef) else None,
            files=[f for f in files if f is not None],
        )


def _datasets(graph: Graph) -> list[Node]:
    return list(graph.subjects(RDF.type, DCAT.Dataset))


def _value(graph: Graph, node: Node | None, predicate: URIRef) -> Any:
    if node is None:
        return None
    value = graph.value(node, predicate)
    if isinstance(value, RDFLiteral):
        python = value.toPython()
        # A literal rdflib cannot read as its datatype stays a literal: judged as text.
        return str(value) if isinstance(python, RDFLiteral) else python
    return None


def _literal(graph: Graph, node: Node, predicate: URIRef) -> str | None:
    """The value of a text property, in French when the source gives several languages."""
    values = [o for o in graph.objects(node, predicate) if isinstance(o, RDFLiteral)]
    if not values:
        return None
    values.sort(key=lambda v: (v.language not in ("fr", None), v.language or "", str(v)))
    return str(values[0]).strip() or None


def _rdf_format(url: str, body: bytes, media_type: str) -> str:
    path = url.split("?", 1)[0].lower()
    if media_type in ("application/ld+json", "application/json") or path.endswith(
        (".jsonld", ".json")
    ):
        return "json-ld"
    if media_type in ("text/turtle", "application/x-turtle") or path.endswith(".ttl"):
        return "turtle"
    if media_type in ("application/rdf+xml", "application/xml", "text/xml") or path.endswith(
        (".rdf", ".xml")
    ):
        return "xml"
    start = body.lstrip()[:1]
    return "json-ld" if start in (b"{", b"[") else "xml" if start == b"<" else "turtle"


def _remote_contexts(document: Any) -> list[str]:
    """The addresses of the remote JSON-LD contexts a document refers to."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                if key == "@context":
                    for item in inner if isinstance(inner, list) else [inner]:
                        if isinstance(item, str) and re.match(r"https?://", item):
                            found.append(item)
                walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    walk(document)
    return list(dict.fromkeys(found))


def _inline(document: Any, contexts: dict[str, Any]) -> Any:
    """The document with each remote context replaced by what it holds."""
    if isinstance(document, dict):
        result = {}
        for key, value in document.items():
            if key == "@context":
                items = value if isinstance(value, list) else [value]
                value = [contexts.get(i, {}) if isinstance(i, str) else i for i in items]
            result[key] = _inline(value, contexts) if key != "@context" else value
        return result
    if isinstance(document, list):
        return [_inline(v, contexts) for v in document]
    return document


KINDS: dict[str, type[Listing]] = {
    "ckan": CkanListing,
    "opendatasoft": OdsListing,
    "dcat": DcatListing,
}
