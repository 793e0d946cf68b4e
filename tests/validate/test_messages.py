"""Every message a person reads in a report, in plain French: no regular expression, no Python
list or repr, no English. Gathered from the real files of the corpus, checked with and without
their schemas, and from every kind of finding and broken rule the code knows."""

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from datacommune.validate.checks import repairs
from datacommune.validate.registry import BUILTIN, Registry, load_entry
from datacommune.validate.reports import groups, hints
from datacommune.validate.reports import report as reports

REGISTRY = Registry.from_dirs([BUILTIN])
# A regular expression's syntax: anchors, classes, escapes, counted repeats.
REGEX = re.compile(r"\^\[|\$$|\]\{|\\[dwsS.\-/]|\[0-9\]|\[A-Z|\{\d+(,\d*)?\}|\(\?")
# What Python prints for its own values.
REPR = re.compile(r"\['|'\]|\{'|\bNone\b|\bTrue\b|\bFalse\b|\\x[0-9a-f]{2}|(?<!\w)'\w+'(?!\w)")
# English words that have no French homograph.
ENGLISH = {
    "the", "is", "must", "should", "value", "values", "constraint", "field", "row", "rows",
    "column", "columns", "error", "errors", "missing", "invalid", "expected", "required", "not",
    "and", "of", "cannot", "does", "with", "least", "most", "header", "cell", "cells", "file",
}  # fmt: skip
COUNTED_WRONG = re.compile(r"\b(?:0|1) (?:\w+s)\b(?<!\bfois)|« ?; ?\.|; \.")


def faults(text: str) -> list[str]:
    found = []
    if REGEX.search(text):
        found.append("a regular expression")
    if REPR.search(text):
        found.append("a Python repr")
    words = {w.lower() for w in re.findall(r"[A-Za-z]+", re.sub(r"« [^»]*»", "", text))}
    if english := words & ENGLISH:
        found.append(f"English ({', '.join(sorted(english))})")
    if COUNTED_WRONG.search(text):
        found.append("a count written wrong")
    return found


def read_by_a_person(report: dict[str, Any]) -> list[str]:
    """The French a report shows: its message, each finding's title, sentence and hint, the
    repairs' names, the schema's notes and the checks not run."""
    texts = [report["message"]["fr"]]
    for issue in report["issues"]:
        texts += [issue["title"], issue["message_fr"], issue.get("hint") or ""]
    for group in report.get("groups", []):
        texts += [group["title"], group["count_fr"], group["rows_fr"], *group["hints"]]
        texts += [e["message_fr"] for e in group["examples"]]
    repair = report.get("repair") or {}
    texts += list((repair.get("kinds") or {}).values())
    if after := repair.get("after"):
        texts.append(after["message"]["fr"])
    texts += (report.get("schema") or {}).get("notes") or []
    texts += [u["message"]["fr"] for u in report.get("unchecked", [])]
    return [t for t in texts if t]


def test_the_reports_of_the_real_files_read_as_french(reference: Path, tmp_path: Path) -> None:
    schemas = {
        "subvention": REGISTRY.get("scdl-subventions"),
        "irve": load_entry(
            "irve-statique",
            json.loads((reference / "schemas/irve-statique/schema.json").read_text()),
        ),
    }
    bad: list[str] = []
    for path in sorted((reference / "real").glob("*.csv")):
        schema = next((s for k, s in schemas.items() if k in path.name), None)
        for entry in [schema, None] if schema else [None]:
            copy = tmp_path / path.name
            shutil.copyfile(path, copy)
            report, _ = reports.check_with_repair(copy, schema=entry)
            for text in read_by_a_person(report):
                if found := faults(text):
                    bad.append(f"{path.name} [{entry.id if entry else '-'}]: {found}: {text}")
    assert bad == [], "\n".join(bad[:40])


def test_every_titled_kind_and_broken_rule_reads_as_french() -> None:
    spec = {
        "name": "taux_participation",
        "description": "Part du financement, en fraction de 1. Exemple : 0.25.",
        "example": "0.25",
        "constraints": {"enum": ["aide en numéraire", "aide en nature"], "maximum": 1},
    }
    notes = [
        'constraint "required" is "True"',
        'constraint "pattern" is "^[0-9]{14}$"',
        "constraint \"enum\" is \"['aide en numéraire', 'aide en nature']\"",
        'constraint "maximum" is "1"',
        'constraint "minimum" is "0"',
        'constraint "maxLength" is "10"',
        'constraint "minLength" is "2"',
        'constraint "unique" is "True"',
        'constraint "exclusiveMaximum" is "3"',
        'type is "number/default"',
        'type is "date/default"',
        'type is "geojson/default"',
    ]
    texts = []
    for kind in hints.TITLES:
        texts.append(hints.title(kind))
        for note in [None, *notes]:
            for field_spec in (None, spec):
                texts.append(hints.hint(kind, note, spec=field_spec, cell="100") or "")
                texts.append(
                    hints.hint(kind, note, spec=field_spec, cell="Aide en Numéraire") or ""
                )
            texts.append(hints.describe(kind, field="montant", cell="12,5", note=note) or "")
            texts.append(hints.describe(kind, field="montant", cell=None, note=note) or "")
        for rule in [None, *groups.RULES, *hints.FRENCH_TYPES]:
            texts.append(groups.heading(kind, rule))
    texts += list(repairs.KINDS.values())
    bad = [f"{faults(t)}: {t}" for t in texts if t and faults(t)]
    assert bad == [], "\n".join(bad)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        (
            "Aide en numéraire",
            "Seules les majuscules ou les accents diffèrent : écrivez « aide en numéraire »",
        ),
        (
            "don",
            "Choisissez une des valeurs permises : « aide en numéraire » ou « aide en nature ».",
        ),
    ],
)
def test_allowed_values_are_a_french_list_and_say_when_only_the_case_differs(
    cell: str, expected: str
) -> None:
    spec = {"constraints": {"enum": ["aide en numéraire", "aide en nature"]}}
    note = "constraint \"enum\" is \"['aide en numéraire', 'aide en nature']\""
    assert (hints.hint("constraint-error", note, spec=spec, cell=cell) or "").startswith(expected)


def test_a_percentage_written_out_of_100_is_explained() -> None:
    spec = {"name": "taux", "description": "Taux de participation", "constraints": {"maximum": 1}}
    said = hints.hint("constraint-error", 'constraint "maximum" is "1"', spec=spec, cell="100")
    assert said is not None
    assert "fraction de 1" in said
    assert "25 % s'écrit 0.25" in said


def test_a_pattern_is_explained_by_the_schemas_example_and_description() -> None:
    spec = {
        "description": "Date de la convention, au format AAAA-MM-JJ. Elle est unique.",
        "example": "2017-06-27",
        "constraints": {"pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
    }
    note = 'constraint "pattern" is "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"'
    said = hints.hint("constraint-error", note, spec=spec, cell="27/06/2017")
    assert said == (
        "Écrivez-la comme « 2017-06-27 » : Date de la convention, au format AAAA-MM-JJ."
    )


def test_one_cell_gives_one_finding(reference: Path, tmp_path: Path) -> None:
    """A SIRET a spreadsheet wrote ``2,43E+13`` is an invalid SIRET, not also a broken
    pattern: the most useful finding only."""
    schema = {
        "fields": [{"name": "siret", "type": "string", "constraints": {"pattern": "^[0-9]{14}$"}}],
        "custom_checks": [{"name": "french-siret-value", "params": {"column": "siret"}}],
    }
    path = tmp_path / "f.csv"
    path.write_text("siret\n2,43E+13\n21310457000014\n", encoding="utf-8")
    report = reports.check(path, schema=load_entry("t", schema))
    assert report["summary"]["error_types"] == {"french-siret-value": 1}
