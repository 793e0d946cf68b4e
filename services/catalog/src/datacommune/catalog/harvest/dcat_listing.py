"""Listing a DCAT catalogue (JSON-LD, Turtle or RDF/XML), page by page along hydra's links; its
JSON-LD contexts are fetched within the same limits as the pages, never by rdflib itself."""

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
from datacommune.catalog.harvest.listings import (
    MAX_PAGES,
    Entry,
    Listing,
    json_page,
    malformed_page,
)
from datacommune.catalog.harvest.records import Failure, Remote

HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")


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
            document = json_page(body, url)
            # Remote contexts are fetched here, within the harvest's limits, never by rdflib.
            for address in _remote_contexts(document):
                if address not in contexts:
                    loaded = json_page((await self.fetcher.get(address))[0], address)
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
            raise malformed_page(
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
