"""The engine opens a table as frictionless does, up to its header, without the row stream it
never reads: labels, dialect, schema (inferred or paired), header errors and expected fields are
those of frictionless's whole ``open``."""

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from frictionless import FrictionlessException
from frictionless.resources import TableResource

from datacommune.validate.columnar.engine import _HEADER_STEPS, open_header
from datacommune.validate.registry import BUILTIN, Registry, SchemaEntry
from datacommune.validate.reports import report
from tests.validate.differential import generate

ROOT = Path(__file__).resolve().parents[2]


def opened(resource: TableResource) -> dict[str, Any]:
    header = resource.header
    return {
        "labels": resource.labels,
        "dialect": resource.dialect.to_descriptor(),
        "schema": resource.schema.to_descriptor(),
        "header_errors": [(e.type, e.note) for e in header.errors],
        "expected": [f.to_descriptor() for f in header.get_expected_fields()],
        "fragment": resource.fragment,
    }


def both(path: Path, schema: SchemaEntry | None, delimiter: str = ",") -> list[dict[str, Any]]:
    """What frictionless's whole open and the engine's give."""
    sides: list[dict[str, Any]] = []
    for opening in (TableResource.open, open_header):
        resource = report.table_resource(path, schema, 0, report.csv_options(delimiter))
        try:
            opening(resource)
            sides.append(opened(resource))
        except FrictionlessException as exc:
            sides.append({"error": str(exc)})
        finally:
            resource.close()
    return sides


def test_corpus_tables_open_alike(reference: Path, tmp_path: Path) -> None:
    tables = sorted(reference.rglob("*.csv"))
    assert len(tables) > 20
    for path in tables:
        delimiter = ";" if path.read_bytes()[:2000].count(b";") > 2 else ","
        copy = tmp_path / "file.csv"
        copy.write_bytes(path.read_bytes())
        full, light = both(copy, None, delimiter)
        assert full == light, path.name


@pytest.mark.parametrize("name", sorted({e.name for e in Registry.from_dirs([BUILTIN]).all()}))
def test_shipped_schemas_pair_alike(name: str, tmp_path: Path) -> None:
    """Each shipped schema with a generated file of its own, then with its header shuffled,
    a column renamed and one dropped (header errors of every kind)."""
    schema = Registry.from_dirs([BUILTIN]).get(name)
    assert schema is not None
    path = tmp_path / "file.csv"
    generate(schema.descriptor, 30, seed=5, path=path)
    full, light = both(path, schema)
    assert full == light
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    header = rows[0][::-1]
    header[0] = header[0] + "_renamed"
    out = io.StringIO()
    csv.writer(out).writerows([header[:-1], *(r[::-1][:-1] for r in rows[1:])])
    path.write_text(out.getvalue(), encoding="utf-8")
    full, light = both(path, schema)
    assert full == light
    assert full.get("header_errors"), "the altered header has errors to compare"


def test_this_frictionless_has_the_steps_the_engine_takes() -> None:
    """Else the engine falls back to the whole ``open`` (correct, a quarter slower on small
    files): a frictionless upgrade that renames them shows here."""
    assert all(hasattr(TableResource, f"_TableResource__open_{s}") for s in _HEADER_STEPS)
