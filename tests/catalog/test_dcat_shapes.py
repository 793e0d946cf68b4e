"""The shipped DCAT-AP shapes do reject what DCAT-AP forbids (so a passing feed means something)."""

from pathlib import Path

import pyshacl
from rdflib import Graph

SHAPES = (
    Path(__file__).resolve().parents[2]
    / "services/catalog/src/datacommune/catalog/shapes/dcat-ap-core.ttl"
)
BROKEN = """
@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
<https://x/catalog> a dcat:Catalog ; dct:title "x" ; dct:description "x" ;
    dct:publisher <https://x/org> ; dcat:dataset <https://x/d> .
<https://x/d> a dcat:Dataset ; dct:description "sans titre" ; dcat:distribution <https://x/r> .
<https://x/r> a dcat:Distribution .
"""


def test_a_dataset_without_title_and_a_distribution_without_url_fail() -> None:
    conforms, results, text = pyshacl.validate(
        Graph().parse(data=BROKEN, format="turtle"), shacl_graph=str(SHAPES), inference="none"
    )
    assert not conforms
    assert "title" in text
    assert "accessURL" in text
