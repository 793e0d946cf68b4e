"""The findings grouped as a person reads them: one block per kind and column, counted exactly,
its rows as runs, each piece of advice once, the first examples kept."""

import shutil
from pathlib import Path

from datacommune.validate.registry import BUILTIN, Registry, load_entry
from datacommune.validate.reports import groups
from datacommune.validate.reports import report as reports

REGISTRY = Registry.from_dirs([BUILTIN])


def test_rows_become_runs_said_in_french() -> None:
    runs = groups.ranges({5, 2, 3, 4, 9, 11, 12})
    assert runs == [[2, 5], [9, 9], [11, 12]]
    assert groups.rows_fr(runs, 7) == "lignes 2 à 5, 9 et 11 à 12"
    assert groups.rows_fr([[7, 7]], 1) == "ligne 7"
    many = groups.ranges(set(range(2, 200, 2)))
    assert len(many) == groups.RANGES
    assert groups.rows_fr(many, 99).endswith("…")


def test_each_kind_and_column_is_one_group_counted_exactly(tmp_path: Path) -> None:
    schema = load_entry(
        "essai",
        {
            "fields": [
                {"name": "nom", "type": "string", "constraints": {"required": True}},
                {"name": "montant", "type": "number"},
                {"name": "date", "type": "string", "constraints": {"pattern": "^[0-9]{4}$"}},
            ]
        },
    )
    lines = ["nom,montant,date"]
    lines += [f",{i},2024" for i in range(40)]  # 40 empty names
    lines += [f"a,{i} €,2024" for i in range(30)]  # 30 amounts with a symbol
    lines += ["b,1,24"]  # one date in the wrong form
    path = tmp_path / "essai.csv"
    path.write_text("\n".join(lines) + "\n")
    report = reports.check(path, schema=schema)
    found = {(g["field"], g["rule"]): g for g in report["groups"]}
    assert set(found) == {("nom", "required"), ("montant", "number"), ("date", "pattern")}
    names = found[("nom", "required")]
    assert names["count"] == 40
    assert names["count_fr"] == "40 cellules"
    assert names["title"] == "Cellule obligatoire vide"
    assert names["rows_fr"] == "lignes 2 à 41"
    assert names["hints"] == ["Cette cellule est obligatoire : remplissez-la."]  # once
    assert len(names["examples"]) == groups.EXAMPLES
    amounts = found[("montant", "number")]
    assert amounts["count"] == 30
    assert amounts["title"] == "Valeur du mauvais type (il faut un nombre)"
    assert found[("date", "pattern")]["rows_fr"] == "ligne 72"
    # The largest first, and the groups together count every finding.
    assert [g["count"] for g in report["groups"]] == [40, 30, 1]
    assert sum(g["count"] for g in report["groups"]) == report["summary"]["errors"]


def test_the_header_comes_first_and_its_columns_make_one_group(tmp_path: Path) -> None:
    path = tmp_path / "subventions.csv"
    path.write_text("nomAttribuant,autre,encore\nRoques,1,2\n")
    report = reports.check(path, schema=REGISTRY.get("scdl-subventions"))
    first = report["groups"][0]
    assert first["type"] == "missing-label"
    assert first["header"] is True
    assert first["field"] is None
    assert first["count"] == len([e for e in first["examples"]]) > 5
    extra = next(g for g in report["groups"] if g["type"] == "extra-label")
    assert extra["severity"] == "warning"
    assert {e["field"] for e in extra["examples"]} == {"autre", "encore"}
    assert extra["count_fr"] == "2 colonnes"


def test_a_real_file_reads_in_a_few_groups(reference: Path, tmp_path: Path) -> None:
    """Toulouse Métropole's 1,584 errors are six things to fix, not 1,584 lines."""
    name = "toulouse-metropole-subventions-2022.csv"
    shutil.copyfile(reference / "real" / name, tmp_path / name)
    report = reports.check(tmp_path / name, schema=REGISTRY.get("scdl-subventions"))
    errors = [g for g in report["groups"] if g["severity"] == "error"]
    assert sum(g["count"] for g in errors) == report["summary"]["errors"] == 1584
    assert len(errors) <= 6
    dates = next(g for g in errors if g["field"] == "dateConvention")
    assert (dates["count"], dates["rows_fr"]) == (396, "lignes 2 à 397")
    # A schema's Markdown link reads as its words.
    assert not any("](" in h for g in errors for h in g["hints"])
