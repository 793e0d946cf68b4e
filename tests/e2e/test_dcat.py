"""The DCAT-AP feed parses, passes SEMIC's DCAT-AP shapes, and pages like harvesters expect."""

from collections import Counter
from pathlib import Path

import httpx
import pyshacl
import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF, SH, SKOS

from datacommune.catalog.interop.dcat import SHAPES
from tests.platform import Running

pytestmark = pytest.mark.e2e
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
ECON = URIRef("http://publications.europa.eu/resource/authority/data-theme/ECON")


def _severities(graph: Graph) -> tuple[Counter[str], str]:
    """How many SHACL results of each severity the feed gets, and pyshacl's report."""
    _, results, text = pyshacl.validate(graph, shacl_graph=str(SHAPES), inference="none")
    assert isinstance(results, Graph)
    found = Counter(str(s).rsplit("#", 1)[-1] for s in results.objects(None, SH.resultSeverity))
    return found, str(text)


def test_the_feed_is_dcat_ap(platform: Running, corpus: Path) -> None:
    token = platform.organization("dcatroques")
    upload = platform.upload(token, b"a,b\n1,2\n", dataset="dcat-roques", title="Subventions")
    platform.wait_status(token, upload.json()["id"], {"published"})
    httpx.patch(
        platform.url("catalog") + "/api/v1/datasets/dcat-roques",
        json={
            "description": "Subventions de Roques",
            "theme": "ECON",
            "frequency": "annual",
            "spatial": ["31458"],
            "keywords": ["subventions"],
            "temporal_start": "2025-01-01",
            "temporal_end": "2025-12-31",
            "contact_point": "mairie@roques.invalid",
        },
        headers={"Authorization": f"Bearer {token}"},
    ).raise_for_status()
    # A file validated against a national schema: its distribution conforms to a dct:Standard.
    content = (corpus / "real" / "com-castelmaurou-subventions.csv").read_bytes()
    schema = platform.upload(token, content, dataset="dcat-schema", schema="scdl-subventions")
    platform.wait_status(token, schema.json()["id"], {"published"})
    httpx.patch(
        platform.url("catalog") + "/api/v1/datasets/dcat-schema",
        json={"contact_point": "https://roques.invalid/contact", "licence": "odbl-1.0"},
        headers={"Authorization": f"Bearer {token}"},
    ).raise_for_status()

    base = platform.url("catalog") + "/api/v1/catalog"
    for extension, media in (("ttl", "turtle"), ("jsonld", "json-ld")):
        response = httpx.get(f"{base}.{extension}", params={"page_size": 1000})
        assert response.status_code == 200
        graph = Graph().parse(data=response.text, format=media)
        severities, text = _severities(graph)
        # SEMIC's 3.0.1 shapes carry no sh:severity, so every result is a violation: none.
        assert severities == Counter(), text
        dataset = URIRef(platform.url("catalog") + "/api/v1/datasets/dcat-roques")
        assert (dataset, RDF.type, DCAT.Dataset) in graph
        assert (dataset, DCAT.theme, ECON) in graph
        assert (ECON, SKOS.prefLabel, Literal("Économie et finances", lang="fr")) in graph
        assert (dataset, DCTERMS.spatial, URIRef("http://id.insee.fr/geo/commune/31458")) in graph
        standards = set(graph.subjects(RDF.type, DCTERMS.Standard))
        assert URIRef("https://schema.data.gouv.fr/scdl-subventions/2.1.1") in standards


def test_pages_are_linked_with_hydra(platform: Running) -> None:
    token = platform.organization("dcatpages")
    for n in range(3):
        upload = platform.upload(token, f"a\n{n}\n".encode(), dataset=f"dcat-page-{n}")
        platform.wait_status(token, upload.json()["id"], {"published"})
    base = platform.url("catalog") + "/api/v1/catalog.jsonld"
    graph = Graph().parse(data=httpx.get(base, params={"page_size": 1}).text, format="json-ld")
    [page] = graph.subjects(RDF.type, HYDRA.PagedCollection)
    total = int(str(graph.value(page, HYDRA.totalItems)))
    assert total >= 3
    assert graph.value(page, HYDRA.itemsPerPage) == Literal(1)
    assert graph.value(page, HYDRA.nextPage) is not None
    datasets = list(graph.objects(None, DCAT.dataset))
    assert len(datasets) == 1
    # Each page is a whole DCAT-AP catalogue: one publisher, whatever the page holds.
    severities, text = _severities(graph)
    assert severities == Counter(), text
