"""The shipped DCAT-AP shapes reject what DCAT-AP forbids, offline (so a passing feed means something)."""

import pyshacl
import pytest
from rdflib import Graph

from datacommune.catalog.interop.dcat import SHAPES

PREFIXES = """
@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
"""
CATALOG = """
<https://x/catalog> a dcat:Catalog ; dct:title "x" ; dct:description "x" ;
    dct:publisher <https://x/org> ; dcat:dataset <https://x/d> .
<https://x/org> a foaf:Agent ; foaf:name "x" .
"""
DATASET = """
<https://x/d> a dcat:Dataset ; dct:title "x" ; dct:description "x" ;
    dcat:distribution <https://x/r> .
<https://x/r> a dcat:Distribution ; dcat:accessURL <https://x/r/latest> .
"""


def _validate(turtle: str) -> tuple[bool, str]:
    # inference="none" and no owl:imports: the validation never leaves this machine.
    conforms, _, text = pyshacl.validate(
        Graph().parse(data=PREFIXES + turtle, format="turtle"),
        shacl_graph=str(SHAPES),
        inference="none",
    )
    return bool(conforms), str(text)


def test_a_minimal_catalog_conforms() -> None:
    conforms, text = _validate(CATALOG + DATASET)
    assert conforms, text


def test_a_dataset_without_title_and_a_distribution_without_url_fail() -> None:
    conforms, text = _validate(
        CATALOG
        + """
<https://x/d> a dcat:Dataset ; dct:description "sans titre" ; dcat:distribution <https://x/r> .
<https://x/r> a dcat:Distribution .
"""
    )
    assert not conforms
    assert "title" in text
    assert "accessURL" in text


@pytest.mark.parametrize(
    ("triples", "expected"),
    [
        # Range shapes check classes: an EU theme IRI alone is not known to be a skos:Concept…
        ("<https://x/d> dcat:theme <http://publications.europa.eu/x/ECON> .", "Concept"),
        # …and a skos:Concept without a label is not one DCAT-AP accepts.
        (
            "<https://x/d> dcat:theme <https://x/t> . <https://x/t> a skos:Concept .",
            "prefLabel",
        ),
        ("<https://x/r> dct:license <https://x/licence> .", "LicenseDocument"),
        ('<https://x/r> dcat:byteSize "12.5" .', "nonNegativeInteger"),
    ],
)
def test_range_shapes_hold_offline(triples: str, expected: str) -> None:
    conforms, text = _validate(CATALOG + DATASET + triples)
    assert not conforms
    assert expected in text
