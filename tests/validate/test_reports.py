"""Reports on corpus files, as frictionless and the corpus notes say they should read."""

import shutil
from pathlib import Path

import pytest

from datacommune.validate.registry import BUILTIN, Registry, load_entry
from datacommune.validate.reports import report as reports

REGISTRY = Registry.from_dirs([BUILTIN])


def check(corpus_file: Path, tmp_path: Path, schema: str | None = None) -> dict[str, object]:
    copy = tmp_path / f"file{corpus_file.suffix}"
    shutil.copyfile(corpus_file, copy)
    entry = REGISTRY.get(schema) if schema else None
    return reports.check(copy, schema=entry, schema_ref=schema)


def test_a_valid_scdl_file(corpus: Path, tmp_path: Path) -> None:
    report = check(
        corpus / "real" / "com-castelmaurou-subventions.csv", tmp_path, "scdl-subventions"
    )
    assert report["valid"] is True
    assert report["publishable"] is True
    assert report["summary"] == {
        "rows": 95,
        "errors": 0,
        "warnings": 0,
        "error_types": {},
        "warning_types": {},
        "truncated": False,
    }


def test_column_errors_are_counted_exactly(corpus: Path, tmp_path: Path) -> None:
    path = corpus / "schemas" / "scdl-subventions" / "exemple_invalide_erreurs_colonnes.csv"
    report = check(path, tmp_path, "scdl-subventions")
    assert report["valid"] is False
    # 66 findings, one cell of which both breaks the SIRET pattern and fails the SIRET check:
    # counted once, as the SIRET.
    assert report["summary"]["errors"] == 65  # type: ignore[index]
    assert report["summary"]["warning_types"] == {"extra-label": 1}  # type: ignore[index]
    assert report["summary"]["error_types"] == {  # type: ignore[index]
        "constraint-error": 9,
        "french-siret-value": 49,
        "missing-label": 1,
        "one-of-required": 1,
        "type-error": 5,
    }
    first = report["issues"][0]  # type: ignore[index]
    assert first["title"] == "Colonne en trop"
    assert first["hint"]


def test_without_schema_a_readable_table_is_publishable(corpus: Path, tmp_path: Path) -> None:
    report = check(corpus / "frictionless" / "blank-rows.csv", tmp_path)
    assert report["publishable"] is True
    assert report["summary"]["warnings"] == 1  # type: ignore[index]


def test_an_empty_source_is_not_publishable(corpus: Path, tmp_path: Path) -> None:
    report = check(corpus / "frictionless" / "empty.csv", tmp_path)
    assert report["publishable"] is False
    assert report["summary"]["error_types"] == {"source-error": 1}  # type: ignore[index]


@pytest.mark.parametrize("name", ["scdl-subventions", "scdl-subventions@2.1.1"])
def test_schemas_resolve_by_name_or_id(name: str) -> None:
    entry = REGISTRY.get(name)
    assert entry is not None
    assert entry.id == "scdl-subventions@2.1.1"


def test_schema_defects_become_warnings() -> None:
    entry = load_entry(
        "x",
        {
            "name": "Données essentielles",
            "version": "1.0.0",
            "fields": [{"name": "a", "required": True}],
        },
    )
    assert "name" not in entry.descriptor
    assert entry.descriptor["fields"][0]["constraints"] == {"required": True}
    assert len(entry.warnings) == 2
