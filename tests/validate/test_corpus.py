"""Every file of the reference corpus, against the findings its SOURCES.md lists.

Columns are matched by name (``fieldsMatch: superset``), as Validata does. Where our report
differs from the plain-frictionless reference in SOURCES.md, the comment says why.
"""

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from datacommune.validate.registry import BUILTIN, Registry, SchemaEntry, load_entry
from datacommune.validate.reports import report as reports

REGISTRY = Registry.from_dirs([BUILTIN])
ARRAYS = {
    "fields": [
        {"name": "array_field", "type": "array", "arrayItem": {"constraints": {"enum": ["a", "b"]}}}
    ]
}


def schema_for(reference: Path, name: str | None) -> SchemaEntry | None:
    if name is None:
        return None
    if name == "arrays":
        return load_entry("arrays", ARRAYS)
    if name.endswith(".json"):
        return load_entry(Path(name).stem, json.loads((reference / name).read_text()))
    entry = REGISTRY.get(name)
    if entry is None:  # shipped only in the corpus (no licence to copy it)
        entry = load_entry(
            name, json.loads((reference / "schemas" / name / "schema.json").read_text())
        )
    return entry


def check(reference: Path, tmp_path: Path, name: str, schema: str | None) -> dict[str, Any]:
    source = reference / name
    copy = tmp_path / f"file{source.suffix}"
    shutil.copyfile(source, copy)
    return reports.check(copy, schema=schema_for(reference, schema))


def kinds(report: dict[str, Any]) -> dict[str, int]:
    """Every kind found, errors and warnings together."""
    return {**report["summary"]["warning_types"], **report["summary"]["error_types"]}


def located(report: dict[str, Any]) -> list[tuple[int | None, str | None, str]]:
    return [(i["row"], i["field"], i["type"]) for i in report["issues"]]


# (file, schema, exact counts per kind of finding)
COUNTS = [
    ("schemas/catalogue-donnees/exemple-valide.csv", "catalogue-donnees", {}),
    # The schema's name has spaces and accents: a warning, and the file validates.
    ("schemas/decp-marches-publics/exemple-valide.csv", "decp-marches-publics", {}),
    # The « valid » Excel example predates the true/false-only booleans.
    ("schemas/decp-marches-publics/exemple-valide.xlsx", "decp-marches-publics", {"type-error": 4}),
    (
        "schemas/equipements-collectifs-futurocite/exemple-valide.csv",
        "equipements-collectifs-futurocite",
        {},
    ),
    ("schemas/irve-statique/exemple-valide-statique.csv", "irve-statique", {}),
    ("schemas/scdl-prenoms/prenoms-nouveaux-nes_exemple-valide.csv", "scdl-prenoms", {}),
    (
        "schemas/scdl-prenoms/prenoms-nouveaux-nes_exemple-invalide.csv",
        "scdl-prenoms",
        {"constraint-error": 7},
    ),
    ("schemas/scdl-subventions/exemple_valide.csv", "scdl-subventions", {}),
    # The 15 cell errors of the reference, plus what the declared custom checks find: the
    # Poitiers SIRETs truncated by a spreadsheet (…00000) and one row with neither id nor RNA.
    (
        "schemas/scdl-subventions/exemple_invalide_erreurs_cellules.csv",
        "scdl-subventions",
        # One cell, one finding: the SIRET check's cell is not also a broken pattern.
        {"constraint-error": 9, "type-error": 5, "french-siret-value": 49, "one-of-required": 1},
    ),
    (
        "schemas/scdl-subventions/exemple_invalide_erreurs_colonnes.csv",
        "scdl-subventions",
        {
            "extra-label": 1,
            "missing-label": 1,
            "constraint-error": 9,  # one cell, one finding (SIRET over pattern)
            "type-error": 5,
            "french-siret-value": 49,
            "one-of-required": 1,
        },
    ),
    (
        "validata/examples_subventions_one_of_required/exemple_valide_subventions1.csv",
        "scdl-subventions",
        {},
    ),
    (
        "validata/examples_subventions_one_of_required/exemple_valide_subventions2.csv",
        "scdl-subventions",
        {},
    ),
    (
        "validata/examples_subventions_one_of_required/exemple_valide_subventions3.csv",
        "scdl-subventions",
        {},
    ),
    *[
        (
            f"validata/examples_subventions_one_of_required/exemple_invalide_subventions_{case}.csv",
            "scdl-subventions",
            {kind: 1},
        )
        for case, kind in [
            ("one_of_required1", "one-of-required"),
            ("one_of_required2", "one-of-required"),
            ("one_of_required3", "one-of-required"),
            ("one_of_required4", "one-of-required"),
            ("constraint_error1", "constraint-error"),
            ("constraint_error2", "constraint-error"),
            ("french_siret_error1", "french-siret-value"),
            ("french_siret_error2", "french-siret-value"),
        ]
    ],
    ("validata/fixtures/valid_array.csv", "arrays", {}),
    ("validata/fixtures/invalid_array.csv", "arrays", {"constraint-error": 2}),
    ("validata/fixtures/irve_accent_valide.csv", None, {}),
    ("validata/fixtures/sample_with_bom.csv", None, {}),
    ("validata/fixtures/mini-menus-collectifs_invalide.utf-16.csv", None, {"encoding-error": 1}),
    # Real files. SCDL v1 headers (Poitiers, Nièvre, Montpellier, Rennes) match almost nothing:
    # the labels errors hide the cells, which column mapping will reveal.
    ("real/com-castelmaurou-subventions.csv", "scdl-subventions", {}),
    ("real/com-digne-les-bains-prenoms-2017.csv", "scdl-prenoms", {}),
    (
        "real/com-poitiers-subventions-associations-2017.csv",
        "scdl-subventions",
        {"extra-label": 11, "missing-label": 11, "one-of-required": 1},
    ),
    # Reference: 38 findings; the same here, blank rows reported once each (not also as
    # missing ids).
    (
        "real/dep46-lot-subventions-2017.csv",
        "scdl-subventions",
        {"blank-row": 21, "extra-label": 2, "missing-label": 2, "type-error": 13},
    ),
    (
        "real/dep58-nievre-subventions-2016.csv",
        "scdl-subventions",
        {"extra-label": 17, "missing-label": 11, "one-of-required": 1},
    ),
    # Reference: 2 extra-label and 2 missing-label, because frictionless glued the BOM to the
    # first header (« ï»¿nomAttribuant »); read right, only the `type` column is extra.
    (
        "real/dep80-somme-subventions-20180302.csv",
        "scdl-subventions",
        {
            "constraint-error": 83,
            "type-error": 82,
            "extra-label": 1,
            "missing-label": 1,
            "french-siret-value": 1,
        },
    ),
    ("real/irve-driveco-20201215.csv", None, {}),
    (
        "real/montpellier-subventions-associations.csv",
        "scdl-subventions",
        {"extra-label": 12, "missing-label": 11, "one-of-required": 1},
    ),
    (
        "real/rennes-bp2019-subventions-associations.csv",
        "scdl-subventions",
        {"extra-label": 7, "missing-label": 11, "one-of-required": 1},
    ),
    # Reference: 1,191 (3 extra-label, 1,188 constraint-error). The SIRETs in scientific
    # notation (2,43E+13) also fail the declared SIRET check: reported, never « repaired ».
    (
        "real/toulouse-metropole-subventions-2022.csv",
        "scdl-subventions",
        {
            "extra-label": 3,
            # 396 cells that break the SIRET pattern are counted once, as invalid SIRETs.
            "constraint-error": 792,
            "french-siret-value": 782,
            "one-of-required": 10,
        },
    ),
]


@pytest.mark.parametrize(("name", "schema", "expected"), COUNTS, ids=[c[0] for c in COUNTS])
def test_findings_per_kind(
    reference: Path, tmp_path: Path, name: str, schema: str | None, expected: dict[str, int]
) -> None:
    report = check(reference, tmp_path, name, schema)
    assert kinds(report) == expected
    # An extra column is a remark (columns are matched by name); everything else here blocks.
    assert set(report["summary"]["warning_types"]) <= {"extra-label"}
    assert report["valid"] is (set(expected) <= {"extra-label"})


# (file, schema, findings in order: row, column, kind) — the lists SOURCES.md gives.
LOCATED = [
    (
        "schemas/lieux-covoiturage/exemple-invalide.csv",
        "lieux-covoiturage",
        # frictionless alone finds only the date; `horaires` = true/false fails the declared
        # opening-hours check. The corpus note also expects `source` 576578587 to fail the
        # SIREN check, but its Luhn key is valid (5+5+6+7+5+1+7+7+7 = 50): it passes.
        [
            (2, "horaires", "opening-hours-value"),
            (3, "date_maj", "type-error"),
            (3, "horaires", "opening-hours-value"),
        ],
    ),
    (
        "schemas/scdl-prenoms/prenoms-nouveaux-nes_exemple-invalide.csv",
        "scdl-prenoms",
        [
            (2, "COLL_INSEE", "constraint-error"),
            (2, "ENFANT_PRENOM", "constraint-error"),
            (3, "COMMUNE_NOM", "constraint-error"),
            (3, "ENFANT_PRENOM", "constraint-error"),
            (4, "COMMUNE_NOM", "constraint-error"),
            (4, "ENFANT_SEXE", "constraint-error"),
            (7, "ENFANT_PRENOM", "constraint-error"),
        ],
    ),
    ("frictionless/table.csv", None, []),
    ("frictionless/blank-cells.csv", None, []),
    ("frictionless/without-rows.csv", None, []),
    ("frictionless/bom.csv", None, []),
    ("frictionless/latin1.csv", None, []),
    ("frictionless/table-infer-iso-8859-7.csv", None, []),
    ("frictionless/issue-1009-semicolon.csv", None, []),
    ("frictionless/table-delimiter.csv", None, []),
    ("frictionless/escaping.csv", None, []),
    ("frictionless/without-headers.csv", None, []),
    ("frictionless/table.xlsx", None, []),
    ("frictionless/blank-headers.csv", None, [(None, "field2", "blank-label")]),
    ("frictionless/blank-rows.csv", None, [(4, None, "blank-row")]),
    ("frictionless/blank-rows-multiple.csv", None, [(n, None, "blank-row") for n in range(4, 15)]),
    (
        "frictionless/duplicate-headers.csv",
        None,
        [(None, "id2", "duplicate-label"), (None, "id3", "duplicate-label")],
    ),
    (
        "frictionless/defective-rows.csv",
        None,
        [(2, "age", "missing-cell"), (3, None, "extra-cell")],
    ),
    (
        "frictionless/invalid.csv",
        None,
        [
            (None, "field3", "blank-label"),
            (None, "name2", "duplicate-label"),
            (2, "field3", "missing-cell"),
            (2, "name2", "missing-cell"),
            (3, "field3", "missing-cell"),
            (3, "name2", "missing-cell"),
            (4, None, "blank-row"),
            (5, None, "extra-cell"),
        ],
    ),
    (
        "frictionless/structure-errors.csv",
        None,
        [
            (4, None, "blank-row"),
            (5, None, "extra-cell"),
            (5, None, "extra-cell"),
            (5, None, "extra-cell"),
        ],
    ),
    (
        "frictionless/capital-invalid.csv",
        None,
        [
            (None, "name2", "duplicate-label"),
            (10, "name2", "missing-cell"),
            (11, None, "blank-row"),
            (12, "id", "type-error"),
            (12, None, "extra-cell"),
        ],
    ),
    (
        "frictionless/schema-errors.csv",
        "frictionless/schema-valid.json",
        [
            (4, "id", "type-error"),
            (4, "name", "constraint-error"),
            (4, "age", "constraint-error"),
            (4, None, "primary-key"),
            (5, "id", "constraint-error"),
            (5, None, "extra-cell"),
            (5, None, "extra-cell"),
            (5, None, "extra-cell"),
            (5, None, "primary-key"),
        ],
    ),
    (
        "frictionless/unique-field.csv",
        "frictionless/unique-field.json",
        [(10, "id", "unique-error"), (10, None, "primary-key")],
    ),
    ("frictionless/merged-cells.xlsx", None, [(None, "field2", "blank-label")]),
    (
        "frictionless/multiline-headers.xlsx",
        None,
        [(None, "field4", "blank-label"), (2, None, "blank-row"), (3, None, "blank-row")],
    ),
]


@pytest.mark.parametrize(("name", "schema", "expected"), LOCATED, ids=[c[0] for c in LOCATED])
def test_findings_in_place(
    reference: Path,
    tmp_path: Path,
    name: str,
    schema: str | None,
    expected: list[tuple[int | None, str | None, str]],
) -> None:
    assert located(check(reference, tmp_path, name, schema)) == expected


@pytest.mark.parametrize(
    ("name", "schema", "message"),
    [
        ("frictionless/empty.csv", None, "the source is empty"),
        ("frictionless/sheet2.xlsx", None, "the source is empty"),
        (
            "frictionless/duplicate-column.csv",
            "frictionless/duplicate-column-schema.json",
            "requires unique labels",
        ),
        (
            "schemas/scdl-subventions/exemple-duplicate-column.csv",
            "scdl-subventions",
            "requires unique labels",
        ),
    ],
)
def test_unreadable_tables_say_why(
    reference: Path, tmp_path: Path, name: str, schema: str | None, message: str
) -> None:
    report = check(reference, tmp_path, name, schema)
    assert report["publishable"] is False
    assert any(message in i["message"] for i in report["issues"])


def test_messages_match_validata(reference: Path, tmp_path: Path) -> None:
    base = "validata/examples_subventions_one_of_required/exemple_invalide_subventions_"
    one = check(reference, tmp_path, base + "one_of_required1.csv", "scdl-subventions")
    assert (
        "Au moins l'une des colonnes 'idBeneficiaire' ou 'rnaBeneficiaire' doit comporter une valeur."
        in one["issues"][0]["message"]
    )
    both = check(reference, tmp_path, base + "one_of_required4.csv", "scdl-subventions")
    assert (
        "Les deux colonnes 'idBeneficiaire' et 'rnaBeneficiaire' sont manquantes."
        in both["issues"][0]["message"]
    )
    siret = check(reference, tmp_path, base + "french_siret_error1.csv", "scdl-subventions")
    assert "n'est pas un numéro SIRET français valide." in siret["issues"][0]["message"]


def test_the_headers_read_right(reference: Path, tmp_path: Path) -> None:
    bom = check(reference, tmp_path, "validata/fixtures/sample_with_bom.csv", None)
    assert bom["source"]["header"][0] == "id"
    accents = check(reference, tmp_path, "validata/fixtures/irve_accent_valide.csv", None)
    assert accents["source"]["encoding"]["name"] == "utf-8"
    assert "accessibilité" in accents["source"]["header"]
    assert Counter(accents["source"]["header"])  # read as a table


def test_mapping_reveals_the_errors_old_headers_hide(reference: Path, tmp_path: Path) -> None:
    """On the real SCDL v1 files, label errors hide the cells; the proposed mapping shows them."""
    schema = REGISTRY.get("scdl-subventions")
    hidden = revealed = 0
    for name in [
        "real/dep58-nievre-subventions-2016.csv",
        "real/com-poitiers-subventions-associations-2017.csv",
    ]:
        source = tmp_path / "file.csv"
        shutil.copyfile(reference / name, source)
        before, _ = reports.check_with_repair(source, schema=schema)
        proposed = {p["column"]: p["field"] for p in before["mapping"]["proposed"]}
        assert proposed["COLL_NOM"] == "nomAttribuant"
        after, repaired = reports.check_with_repair(source, schema=schema, renames=proposed)
        assert repaired is not None
        hidden += before["summary"]["errors"]
        revealed += after["summary"]["errors"]
    assert hidden < 40
    assert revealed > 1000


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("real/com-castelmaurou-subventions.csv", "scdl-subventions@2.1.1"),
        ("real/dep58-nievre-subventions-2016.csv", "scdl-subventions@2.1.1"),
        ("schemas/catalogue-donnees/exemple-valide.csv", "catalogue-donnees@0.3.0"),
        ("schemas/lieux-covoiturage/exemple-valide.csv", "lieux-covoiturage@0.3.0"),
        ("real/rennes-bp2019-subventions-associations.csv", None),
    ],
)
def test_without_a_schema_the_best_one_is_guessed(
    reference: Path, tmp_path: Path, name: str, expected: str | None
) -> None:
    source = tmp_path / "file.csv"
    shutil.copyfile(reference / name, source)
    report = reports.check(source, schema=None, candidates=REGISTRY.all())
    guesses = report.get("schema_guess", [])
    assert (guesses[0]["id"] if guesses else None) == expected
