"""The DCAT-AP feed parses, passes SEMIC's DCAT-AP shapes, and pages like harvesters expect."""

import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx
import pyshacl
import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF, SH, SKOS

from datacommune.catalog.interop.dcat import GSP, SHAPES, recommended_shapes
from tests import figures
from tests.platform import ADMIN, Running

pytestmark = pytest.mark.e2e
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
ECON = URIRef("http://publications.europa.eu/resource/authority/data-theme/ECON")


# A dataset's metadata as a commune fills it in full (its description, coverage and contact
# apart).
IN_FULL = {
    "description": "Subventions de la commune",
    "theme": "ECON",
    "frequency": "annual",
    "keywords": ["subventions"],
    "temporal_start": "2025-01-01",
    "temporal_end": "2025-12-31",
}


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
        public = URIRef("http://publications.europa.eu/resource/authority/access-right/PUBLIC")
        assert (dataset, DCTERMS.accessRights, public) in graph
        standards = set(graph.subjects(RDF.type, DCTERMS.Standard))
        # The address data.gouv.fr matches to its schema and version, and only that one.
        published = URIRef("https://schema.data.gouv.fr/schemas/scdl/subventions/2.1.1/schema.json")
        assert published in standards
        schema_dataset = URIRef(platform.url("catalog") + "/api/v1/datasets/dcat-schema")
        files = list(graph.objects(schema_dataset, DCAT.distribution))
        assert files
        for file in files:
            assert list(graph.objects(file, DCTERMS.conformsTo)) == [published]


def _recommended(graph: Graph) -> list[tuple[str, str, str]]:
    """Every result of SEMIC's mandatory and recommended shapes together: (severity, focus
    node, path)."""
    shapes = recommended_shapes().parse(SHAPES)
    _, results, _ = pyshacl.validate(graph, shacl_graph=shapes, inference="none")
    assert isinstance(results, Graph)
    found = []
    for result in results.subjects(RDF.type, SH.ValidationResult):
        severity = str(results.value(result, SH.resultSeverity)).rsplit("#", 1)[-1]
        focus = str(results.value(result, SH.focusNode))
        found.append((severity, focus, str(results.value(result, SH.resultPath))))
    return found


def load_places(platform: Running, tmp_path: Path, lines: list[str]) -> str:
    """``datacommune places import`` as the operator runs it, on a CSV in the columns of the
    common French references; what it printed."""
    reference = tmp_path / "communes.csv"
    reference.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "datacommune.cli.main", "places", "import", str(reference)]
        + ["--source", "référentiel de test", "--url", platform.url("catalog")]
        + ["--admin-token", ADMIN],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_feed_meets_the_recommendations(
    platform: Running, corpus: Path, tmp_path: Path
) -> None:
    """A dataset described in full, its commune in the operator's reference, gets no violation
    and no warning of SEMIC's recommended shapes."""
    printed = load_places(
        platform,
        tmp_path,
        [
            "code_insee;nom_standard;latitude_centre;longitude_centre;xmin;ymin;xmax;ymax",
            "31118;Castelmaurou;43,6811;1,5325;1,5035;43,6611;1,5572;43,7003",
        ],
    )
    assert printed.startswith("1 commune chargée")
    token = platform.organization("dcatconseils")
    content = (corpus / "real" / "com-castelmaurou-subventions.csv").read_bytes()
    upload = platform.upload(token, content, dataset="dcat-complet", schema="scdl-subventions")
    platform.wait_status(token, upload.json()["id"], {"published"})
    described = {**IN_FULL, "spatial": ["31118"], "contact_point": "mairie@castelmaurou.invalid"}
    httpx.patch(
        platform.url("catalog") + "/api/v1/datasets/dcat-complet",
        json=described,
        headers={"Authorization": f"Bearer {token}"},
    ).raise_for_status()
    base = platform.url("catalog") + "/api/v1/catalog.ttl"
    graph = Graph().parse(data=httpx.get(base, params={"page_size": 1000}).text, format="turtle")
    dataset = URIRef(platform.url("catalog") + "/api/v1/datasets/dcat-complet")
    # Only what describes the catalogue and this dataset: other tests' datasets, described
    # less, get the warnings their missing metadata earns.
    root = URIRef(platform.url("catalog") + "/api/v1/catalog")
    catalogue = (o for p, o in graph.predicate_objects(root) if p != DCAT.dataset)
    ours = {dataset, root, *graph.objects(dataset, None), *catalogue}
    for distribution in graph.objects(dataset, DCAT.distribution):
        ours |= set(graph.objects(distribution, None))
    named = {str(node) for node in ours}
    found = [r for r in _recommended(graph) if r[0] == "Violation" or r[1] in named]
    violations = [r for r in found if r[0] == "Violation"]
    assert violations == []
    commune = "http://id.insee.fr/geo/commune/"
    warnings = Counter(
        (focus.startswith(commune), path.rsplit("#", 1)[-1]) for _, focus, path in found
    )
    figures.record(
        "dcat-recommended",
        f"DCAT-AP recommended shapes on the feed ({len(found)} results): "
        + ", ".join(f"{'commune' if c else 'other'} {p}: {n}" for (c, p), n in warnings.items()),
    )
    assert found == []
    castelmaurou = URIRef("http://id.insee.fr/geo/commune/31118")
    assert (castelmaurou, SKOS.prefLabel, Literal("Castelmaurou", lang="fr")) in graph
    centre = Literal("POINT(1.5325 43.6811)", datatype=GSP.wktLiteral)
    assert (castelmaurou, DCAT.centroid, centre) in graph
    box = (
        "POLYGON((1.5035 43.6611, 1.5572 43.6611, 1.5572 43.7003, 1.5035 43.7003, 1.5035 43.6611))"
    )
    assert (castelmaurou, DCAT.bbox, Literal(box, datatype=GSP.wktLiteral)) in graph
    [distribution] = graph.objects(dataset, DCAT.distribution)
    csv = URIRef("http://publications.europa.eu/resource/authority/file-type/CSV")
    assert (distribution, DCTERMS.format, csv) in graph
    page = URIRef(platform.url("catalog") + "/jeux-de-donnees/dcat-complet")
    assert (dataset, DCAT.landingPage, page) in graph


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
