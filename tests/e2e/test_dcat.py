"""The DCAT-AP feed parses, passes the DCAT-AP shapes, and pages like harvesters expect."""

from pathlib import Path

import httpx
import pyshacl
import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF

from tests.platform import Running

pytestmark = pytest.mark.e2e
SHAPES = (
    Path(__file__).resolve().parents[2]
    / "services/catalog/src/datacommune/catalog/shapes/dcat-ap-core.ttl"
)
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")


def test_the_feed_is_dcat_ap(embedded: Running) -> None:
    token = embedded.organization("dcatroques")
    upload = embedded.upload(token, b"a,b\n1,2\n", dataset="dcat-roques", title="Subventions")
    embedded.wait_status(token, upload.json()["id"], {"published"})
    httpx.patch(
        embedded.url("catalog") + "/api/v1/datasets/dcat-roques",
        json={
            "description": "Subventions de Roques",
            "theme": "ECON",
            "frequency": "annual",
            "spatial": ["31458"],
            "keywords": ["subventions"],
            "temporal_start": "2025-01-01",
            "contact_point": "mairie@roques.invalid",
        },
        headers={"Authorization": f"Bearer {token}"},
    ).raise_for_status()
    base = embedded.url("catalog") + "/api/v1/catalog"
    for extension, media in (("ttl", "turtle"), ("jsonld", "json-ld")):
        response = httpx.get(f"{base}.{extension}", params={"page_size": 1000})
        assert response.status_code == 200
        graph = Graph().parse(data=response.text, format=media)
        conforms, _, text = pyshacl.validate(graph, shacl_graph=str(SHAPES), inference="none")
        assert conforms, text
        dataset = URIRef(embedded.url("catalog") + "/api/v1/datasets/dcat-roques")
        assert (dataset, RDF.type, DCAT.Dataset) in graph
        assert (
            dataset,
            DCAT.theme,
            URIRef("http://publications.europa.eu/resource/authority/data-theme/ECON"),
        ) in graph
        assert (dataset, DCTERMS.spatial, URIRef("http://id.insee.fr/geo/commune/31458")) in graph


def test_pages_are_linked_with_hydra(embedded: Running) -> None:
    token = embedded.organization("dcatpages")
    for n in range(3):
        upload = embedded.upload(token, f"a\n{n}\n".encode(), dataset=f"dcat-page-{n}")
        embedded.wait_status(token, upload.json()["id"], {"published"})
    base = embedded.url("catalog") + "/api/v1/catalog.jsonld"
    graph = Graph().parse(data=httpx.get(base, params={"page_size": 1}).text, format="json-ld")
    [page] = graph.subjects(RDF.type, HYDRA.PagedCollection)
    total = int(graph.value(page, HYDRA.totalItems))  # type: ignore[arg-type]
    assert total >= 3
    assert graph.value(page, HYDRA.itemsPerPage) == Literal(1)
    assert graph.value(page, HYDRA.nextPage) is not None
    datasets = list(graph.objects(None, DCAT.dataset))
    assert len(datasets) == 1
