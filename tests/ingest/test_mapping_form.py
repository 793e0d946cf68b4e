"""The column mapping a person chooses on the report page: what is offered, and what a form
may choose."""

from typing import Any

import pytest

from datacommune.ingest import problems
from datacommune.ingest.pages import mapping

REPORT: dict[str, Any] = {
    "schema": {"id": "scdl-subventions@2.1.1"},
    "source": {
        "header": ["Nom association", "objet", " Accordé ", "N°\nDCM", "Nature"],
        "fields": [{"name": n} for n in ("nomBeneficiaire", "objet", "montant", "nature")],
    },
    "mapping": {"proposed": [{"column": "Nature", "field": "nature"}]},
}


def test_the_unknown_columns_are_offered_the_missing_fields() -> None:
    offer = mapping.offered(REPORT)
    assert offer is not None
    assert [r["column"] for r in offer["rows"]] == [
        "Nom association",
        "Accordé",
        "N°\nDCM",
        "Nature",
    ]
    assert offer["fields"] == ["nomBeneficiaire", "montant", "nature"]
    assert [r["chosen"] for r in offer["rows"]] == ["", "", "", "nature"]  # the proposal
    assert mapping.offered({**REPORT, "schema": None}) is None  # no schema, nothing to map


def test_a_form_chooses_among_what_was_offered_each_field_once() -> None:
    chosen = mapping.chosen(
        {"champ-0": "nomBeneficiaire", "champ-1": "montant", "champ-2": "", "champ-3": "nature"},
        REPORT,
    )
    assert chosen == {
        "Nom association": "nomBeneficiaire",
        "Accordé": "montant",
        "Nature": "nature",
    }
    with pytest.raises(problems.InvalidField, match="two columns"):
        mapping.chosen({"champ-0": "montant", "champ-1": "montant"}, REPORT)
    with pytest.raises(problems.InvalidField, match="not one of"):
        mapping.chosen({"champ-0": "objet"}, REPORT)  # the file has it already
    with pytest.raises(problems.InvalidField, match="No mapping"):
        mapping.chosen({"champ-0": ""}, REPORT)


def test_what_was_applied_before_is_kept() -> None:
    applied = {**REPORT, "mapping": {"applied": {"COLL_NOM": "nomAttribuant"}}}
    assert mapping.chosen({"champ-0": "nomBeneficiaire"}, applied) == {
        "COLL_NOM": "nomAttribuant",
        "Nom association": "nomBeneficiaire",
    }
