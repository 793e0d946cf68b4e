"""The French checks schemas declare, run from their declared parameters."""

from pathlib import Path
from typing import Any

import pytest

from datacommune.validate.checks.custom import build
from datacommune.validate.checks.french_rules import insee_ok, siren_ok, siret_ok, territory
from datacommune.validate.registry import BUILTIN, Registry, load_entry
from datacommune.validate.reports import report as reports

REGISTRY = Registry.from_dirs([BUILTIN])


def run(tmp_path: Path, csv: str, descriptor: dict[str, Any]) -> list[tuple[int | None, str]]:
    path = tmp_path / "file.csv"
    path.write_text(csv, encoding="utf-8")
    report = reports.check(path, schema=load_entry("t", descriptor))
    return [(i["row"], i["type"]) for i in report["issues"]]


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("21310457000014", True),
        ("52499120500013", True),
        ("52499120500014", False),  # wrong key
        ("2,43E+13", False),  # a spreadsheet's scientific notation: never « repaired »
        ("21860194600000", False),  # truncated by a float conversion
        ("35600000000048", False),
        ("35600000049837", True),  # La Poste: digits sum to a multiple of 5, Luhn aside
    ],
)
def test_siret(value: str, ok: bool) -> None:
    assert siret_ok(value) is ok


def test_siren() -> None:
    assert siren_ok("217602176")
    assert not siren_ok("21760217")
    assert not siren_ok("2176O2176")


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("04070", True),
        ("31458", True),
        ("2A004", True),
        ("97411", True),
        ("4070", False),
        ("20004", False),
        ("98735", False),
        ("96001", False),
        ("31 458", False),
    ],
)
def test_insee_codes(value: str, ok: bool) -> None:
    assert insee_ok(value) is ok


def test_gps_territories() -> None:
    assert territory(1.44, 43.60) == "métropole et Corse"
    assert territory(55.45, -20.88) == "La Réunion"
    assert territory(-52.33, 4.93) == "Guyane"
    assert territory(43.60, 1.44) is None


def test_swapped_and_foreign_coordinates(tmp_path: Path) -> None:
    schema = {
        "fields": [
            {"name": "Xlong", "type": "number"},
            {"name": "Ylat", "type": "number"},
            {"name": "xy", "type": "string"},
        ],
        "custom_checks": [
            {
                "name": "french-gps-coordinates",
                "params": {"longitude": "Xlong", "latitude": "Ylat"},
            },
            {"name": "french-gps-coordinates", "params": {"column": "xy"}},
        ],
    }
    found = run(
        tmp_path,
        'Xlong,Ylat,xy\n1.081183,49.921823,"1.44, 43.6"\n49.921921,1.065656,"43.6, 1.44"\n'
        "-74.0,40.7,\n",
        schema,
    )
    assert found == [
        (3, "reversed-french-gps-coordinates"),
        (3, "reversed-french-gps-coordinates"),
        (4, "french-gps-coordinates"),
    ]


def test_deliberation_checks_from_the_scdl_schema(tmp_path: Path) -> None:
    entry = REGISTRY.get("scdl-deliberations")
    assert entry is not None
    assert entry.warnings == []  # every declared check is implemented
    names = [f["name"] for f in entry.descriptor["fields"]]
    assert {"BUDGET_ANNEE", "VOTE_EFFECTIF", "DELIB_MATIERE_NOM"} <= set(names)
    checks, warnings = build(entry.descriptor["custom_checks"])
    assert len(checks) == 11
    assert warnings == []


@pytest.mark.parametrize(
    ("params", "csv", "expected"),
    [
        (
            {"name": "year-interval-value", "params": {"column": "a", "allow-year-only": "yes"}},
            "a\n2024\n2024/2025\n2025/2024\n24/25\n",
            [(4, "year-interval-value"), (5, "year-interval-value")],
        ),
        (
            {"name": "year-interval-value", "params": {"column": "a"}},
            "a\n2024\n",
            [(2, "year-interval-value")],
        ),
        (
            {"name": "nomenclature-actes-value", "params": {"column": "a"}},
            "a\nFinances locales/Subventions\nfinances LOCALES/Divers\nLIBERTES PUBLIQUES ET POUVOIRS DE POLICE/x\n"
            "Finances locales\nCuisine/Recettes\n",
            [(5, "nomenclature-actes-value"), (6, "nomenclature-actes-value")],
        ),
        (
            {
                "name": "cohesive-columns-value",
                "params": {"column": "a", "othercolumns": ["b", "c"]},
            },
            "a,b,c\n1,2,3\n,,\n1,,3\n",
            [(3, "blank-row"), (4, "cohesive-columns-value")],
        ),
        (
            {
                "name": "compare-columns-value",
                "params": {"column": "a", "op": ">=", "column2": "b"},
            },
            "a,b\n3,2\n2,3\n,5\n",
            [(3, "compare-columns-value")],
        ),
        (
            {"name": "sum-columns-value", "params": {"column": "a", "columns": ["b", "c"]}},
            "a,b,c\n5,2,3\n6,2,3\n",
            [(3, "sum-columns-value")],
        ),
        (
            {"name": "opening-hours-value", "params": {"column": "a"}},
            'a\n"Mo-Fr 08:00-12:00,14:00-18:00; Sa 09:00-12:00; PH off"\n24/7\ntrue\nlundi 8h-12h\n',
            [(4, "opening-hours-value"), (5, "opening-hours-value")],
        ),
    ],
)
def test_each_check(
    tmp_path: Path, params: dict[str, Any], csv: str, expected: list[tuple[int, str]]
) -> None:
    numeric = params["name"] in ("compare-columns-value", "sum-columns-value")
    schema = {
        "fields": [
            {"name": c, "type": "integer" if numeric else "string"}
            for c in csv.splitlines()[0].split(",")
        ],
        "custom_checks": [params],
    }
    assert run(tmp_path, csv, schema) == expected


def test_an_unknown_check_is_a_warning_not_a_pass() -> None:
    entry = load_entry(
        "x",
        {
            "fields": [],
            "custom_checks": [{"name": "phone-number-value", "params": {"column": "t"}}],
        },
    )
    assert entry.warnings == [
        "custom check 'phone-number-value': a check this platform does not know; not run"
    ]


def test_a_check_is_found_whatever_its_spelling(tmp_path: Path) -> None:
    """``french_gps_coordinates`` is Validata's ``french-gps-coordinates``: it runs."""
    for spelling in ("french_gps_coordinates", "French-GPS-Coordinates", " french-gps-coordinates"):
        schema = {
            "fields": [{"name": "lon", "type": "number"}, {"name": "lat", "type": "number"}],
            "custom_checks": [
                {"name": spelling, "params": {"longitude": "lon", "latitude": "lat"}}
            ],
        }
        assert load_entry("t", schema).not_run == []
        assert run(tmp_path, "lon,lat\n-74.0,40.7\n", schema) == [(2, "french-gps-coordinates")]


def test_a_check_that_cannot_run_is_never_a_silent_pass(tmp_path: Path) -> None:
    """The file has no error, but the schema asks for a check this platform does not know and
    for one whose parameters are wrong: publishable, never « valid », and the report says
    which checks were not done and why."""
    schema = {
        "fields": [{"name": "tel", "type": "string"}],
        "custom_checks": [
            {"name": "phone_number_value", "params": {"column": "tel"}},
            {"name": "french-siret-value", "params": {}},
        ],
    }
    path = tmp_path / "file.csv"
    path.write_text("tel\n0561000000\n", encoding="utf-8")
    report = reports.check(path, schema=load_entry("t", schema))
    assert (report["valid"], report["publishable"]) == (False, True)
    assert [u["check"] for u in report["unchecked"]] == ["phone_number_value", "french-siret-value"]
    assert report["unchecked"][0]["message"]["fr"] == "vérification inconnue de la plateforme"
    assert "sauf des vérifications non faites" in report["message"]["fr"]
    assert "« phone_number_value »" in report["message"]["fr"]
    assert "conforme au schéma" in report["message"]["fr"]
