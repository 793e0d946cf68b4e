"""Portals served locally, shaped like the real APIs a harvest reads: CKAN's Action API
(``package_search``), OpenDataSoft's Explore API v2.1 catalog, and a DCAT catalogue in JSON-LD
and Turtle paged with hydra (as ckanext-dcat and data.gouv.fr serve theirs).

Tests change ``Portal``'s content between runs, and make a path fail with ``fail``.
"""

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF, XSD

from tests import servers

HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
DCAT_PAGE_SIZE = 2


def ckan_package(name: str, title: Any = None, **extra: Any) -> dict[str, Any]:
    """A package as CKAN 2.10's package_search returns it."""
    package: dict[str, Any] = {
        "id": f"id-{name}",
        "name": name,
        "title": title if title is not None else name.replace("-", " ").title(),
        "notes": f"Les **données** de {name}.",
        "license_id": "lov2",
        "license_title": "Licence Ouverte / Open Licence version 2.0",
        "metadata_created": "2024-01-02T09:00:00.000000",
        "metadata_modified": "2024-03-04T10:11:12.000000",
        "organization": {"name": "ville-de-roques", "title": "Ville de Roques"},
        "private": False,
        "state": "active",
        "type": "dataset",
        "tags": [{"name": "budget", "display_name": "budget"}],
        "groups": [],
        "extras": [
            {"key": "theme", "value": "GOVE"},
            {"key": "insee_codes", "value": "31458"},
            {"key": "temporal_start", "value": "2024-01-01"},
        ],
        "resources": [
            {
                "id": f"res-{name}",
                "name": f"{name}.csv",
                "url": f"https://data.roques.example/files/{name}.csv",
                "format": "CSV",
                "mimetype": "text/csv",
                "size": 1234,
            }
        ],
    }
    package.update(extra)
    return package


def ods_dataset(dataset_id: str, title: str, **metas: Any) -> dict[str, Any]:
    """A dataset as OpenDataSoft's Explore API v2.1 catalog returns it."""
    return {
        "dataset_id": dataset_id,
        "dataset_uid": f"da_{dataset_id[:6]}",
        "has_records": True,
        "features": ["analyze", "geo"],
        "attachments": [],
        "fields": [{"name": "nom", "type": "text", "label": "Nom"}],
        "metas": {
            "default": {
                "title": title,
                "description": "<p>Les équipements &amp; services<br/>de la commune.</p>",
                "keyword": ["équipements", "sport"],
                "license": "Open Database License (ODbL)",
                "license_url": "http://opendatacommons.org/licenses/odbl/",
                "theme": ["Culture, Patrimoine"],
                "modified": "2024-05-06T07:08:09+00:00",
                "records_count": 12,
                **metas,
            },
            "dcat": {"temporal_coverage_start": "2023-01-01"},
        },
    }


def dcat_dataset(slug: str, title: str, *, modified: str = "2024-02-03T04:05:06") -> dict[str, Any]:
    return {"slug": slug, "title": title, "modified": modified, "csv": f"{slug}.csv"}


@dataclass
class Portal:
    """What the served portals hold right now."""

    base: str = ""
    ckan: list[dict[str, Any]] = field(default_factory=list)
    ods: list[dict[str, Any]] = field(default_factory=list)
    dcat: list[dict[str, Any]] = field(default_factory=list)
    # Status to answer for a path and query containing the given text (e.g. ``page=2``).
    fail: dict[str, int] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def ckan_search(self, query: dict[str, str]) -> dict[str, Any]:
        rows, start = int(query.get("rows", "10")), int(query.get("start", "0"))
        found = self.ckan
        if query.get("fq", "").startswith("organization:"):
            wanted = query["fq"].split(":", 1)[1]
            found = [p for p in found if p.get("organization", {}).get("name") == wanted]
        found = sorted(found, key=lambda p: str(p.get("id", "")))
        return {
            "help": f"{self.base}/ckan/api/3/action/help_show?name=package_search",
            "success": True,
            "result": {
                "count": len(found),
                "sort": query.get("sort", "score desc, metadata_modified desc"),
                "facets": {},
                "results": found[start : start + rows],
                "search_facets": {},
            },
        }

    def ods_catalog(self, query: dict[str, str]) -> dict[str, Any]:
        limit, offset = int(query.get("limit", "10")), int(query.get("offset", "0"))
        found = sorted(self.ods, key=lambda d: str(d["dataset_id"]))
        return {"total_count": len(found), "results": found[offset : offset + limit]}

    def dcat_graph(self, page: int, extension: str) -> Graph:
        graph = Graph()
        graph.bind("dcat", DCAT)
        graph.bind("dct", DCTERMS)
        graph.bind("hydra", HYDRA)
        root = f"{self.base}/dcat"
        catalog = URIRef(f"{root}/catalog")
        graph.add((catalog, RDF.type, DCAT.Catalog))
        graph.add((catalog, DCTERMS.title, Literal("Catalogue de Roques", lang="fr")))
        shown = self.dcat[(page - 1) * DCAT_PAGE_SIZE : page * DCAT_PAGE_SIZE]
        for item in shown:
            node = URIRef(f"https://data.roques.example/dataset/{item['slug']}")
            graph.add((catalog, DCAT.dataset, node))
            graph.add((node, RDF.type, DCAT.Dataset))
            graph.add((node, DCTERMS.identifier, Literal(item["slug"])))
            graph.add((node, DCTERMS.title, Literal(item["title"], lang="fr")))
            graph.add((node, DCTERMS.title, Literal(item["title"] + " (en)", lang="en")))
            graph.add((node, DCTERMS.description, Literal("Jeu de la commune.", lang="fr")))
            graph.add((node, DCAT.keyword, Literal("voirie", lang="fr")))
            graph.add(
                (
                    node,
                    DCAT.theme,
                    URIRef("http://publications.europa.eu/resource/authority/data-theme/TRAN"),
                )
            )
            graph.add((node, DCTERMS.spatial, URIRef("http://id.insee.fr/geo/commune/31458")))
            graph.add((node, DCTERMS.modified, Literal(item["modified"], datatype=XSD.dateTime)))
            period = BNode()
            graph.add((node, DCTERMS.temporal, period))
            graph.add((period, DCAT.startDate, Literal("2022-01-01", datatype=XSD.date)))
            graph.add((period, DCAT.endDate, Literal("2022-12-31", datatype=XSD.date)))
            distribution = URIRef(f"{node}/csv")
            graph.add((node, DCAT.distribution, distribution))
            graph.add((distribution, RDF.type, DCAT.Distribution))
            graph.add((distribution, DCTERMS.title, Literal("Le fichier", lang="fr")))
            graph.add(
                (
                    distribution,
                    DCAT.downloadURL,
                    URIRef(f"https://data.roques.example/files/{item['csv']}"),
                )
            )
            graph.add(
                (
                    distribution,
                    DCAT.mediaType,
                    URIRef("https://www.iana.org/assignments/media-types/text/csv"),
                )
            )
            graph.add((distribution, DCAT.byteSize, Literal(99, datatype=XSD.nonNegativeInteger)))
            graph.add(
                (
                    distribution,
                    DCTERMS.license,
                    URIRef("https://www.etalab.gouv.fr/licence-ouverte-open-licence"),
                )
            )
        last = max(1, -(-len(self.dcat) // DCAT_PAGE_SIZE))
        here = URIRef(f"{root}/catalog.{extension}?page={page}")
        graph.add((here, RDF.type, HYDRA.PagedCollection))
        graph.add((here, HYDRA.totalItems, Literal(len(self.dcat))))
        graph.add((here, HYDRA.itemsPerPage, Literal(DCAT_PAGE_SIZE)))
        if page < last:
            graph.add((here, HYDRA.nextPage, URIRef(f"{root}/catalog.{extension}?page={page + 1}")))
        return graph


def _handler(portal: Portal) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            portal.requests.append(self.path)
            for needle, status in portal.fail.items():
                if needle in self.path:
                    return self._send(status, b'{"error": "boom"}', "application/json")
            if parts.path == "/ckan/api/3/action/package_search":
                return self._json(portal.ckan_search(query))
            if parts.path == "/ods/api/explore/v2.1/catalog/datasets":
                return self._json(portal.ods_catalog(query))
            if parts.path.startswith("/dcat/catalog."):
                extension = parts.path.rsplit(".", 1)[1]
                graph = portal.dcat_graph(int(query.get("page", "1")), extension)
                if extension == "ttl":
                    return self._send(200, graph.serialize(format="turtle").encode(), "text/turtle")
                body = graph.serialize(format="json-ld").encode()
                return self._send(200, body, "application/ld+json")
            if parts.path == "/moved":
                self.send_response(302)
                self.send_header("Location", "/ckan/api/3/action/package_search?rows=1")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            return self._send(404, b"not found", "text/plain")

        def _json(self, body: Any) -> None:
            self._send(200, json.dumps(body).encode(), "application/json")

        def _send(self, status: int, body: bytes, media_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", f"{media_type}; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@contextlib.contextmanager
def serve(portal: Portal) -> Iterator[Portal]:
    """Serve the portals on 127.0.0.1 in a thread; ``portal.base`` is their address."""
    with servers.http_server(_handler(portal)) as base:
        portal.base = base
        yield portal
