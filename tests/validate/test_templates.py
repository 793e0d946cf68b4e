"""Templates a commune fills in: the schema's columns, documented, with drop-downs."""

from io import BytesIO
from pathlib import Path

import httpx
import openpyxl
import pytest

from datacommune.validate import templates
from datacommune.validate.registry import BUILTIN, Registry
from datacommune.validate.reports import report as reports
from tests.platform import Running

REGISTRY = Registry.from_dirs([BUILTIN])


@pytest.mark.parametrize("schema_id", [e.id for e in REGISTRY.all()])
def test_each_template_has_the_schemas_columns(schema_id: str, tmp_path: Path) -> None:
    entry = REGISTRY.get(schema_id)
    assert entry is not None
    names = [f["name"] for f in entry.descriptor["fields"]]
    text = templates.to_csv(entry)
    assert text.splitlines()[0].split(",") == names
    path = tmp_path / "file.csv"
    path.write_text(text, encoding="utf-8")
    report = reports.check(path, schema=entry)
    labels = {"extra-label", "missing-label", "duplicate-label", "blank-label"}
    assert not labels & set(report["summary"]["error_types"])

    book = openpyxl.load_workbook(BytesIO(templates.to_xlsx(entry)))
    assert book.sheetnames == ["Données", "Documentation"]
    assert [c.value for c in book["Données"][1]] == names
    assert book["Documentation"].max_row == len(names) + 1


def test_allowed_values_are_a_drop_down() -> None:
    entry = REGISTRY.get("scdl-subventions")
    assert entry is not None
    sheet = openpyxl.load_workbook(BytesIO(templates.to_xlsx(entry)))["Données"]
    lists = [v for v in sheet.data_validations.dataValidation if v.type == "list"]
    assert any("aide en numéraire" in (v.formula1 or "") for v in lists)


@pytest.mark.e2e
def test_templates_are_served(embedded: Running) -> None:
    base = embedded.url("validate") + "/api/v1/schemas/scdl-subventions"
    csv_file = httpx.get(base + "/template.csv")
    assert csv_file.headers["content-type"].startswith("text/csv")
    assert csv_file.text.startswith("nomAttribuant,idAttribuant")
    xlsx = httpx.get(base + "/template.xlsx")
    assert "modele-scdl-subventions-2.1.1.xlsx" in xlsx.headers["content-disposition"]
    assert openpyxl.load_workbook(BytesIO(xlsx.content)).sheetnames[0] == "Données"
    assert httpx.get(base + "/template.pdf").status_code == 422
