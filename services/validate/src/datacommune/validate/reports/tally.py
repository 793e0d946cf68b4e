"""The findings of one file, taken a row at a time and kept as the report needs them.

A file can hold millions of findings; the report shows exact counts, the first examples of each
kind, and groups (kind and column) with their count, the rows they touch and their first
examples. So each finding is counted and then dropped unless it is one of those examples: what
the tally holds depends on the number of kinds and columns, not on the number of findings.
Findings must come in row order (header first), each row's together.
"""

from collections import Counter
from collections.abc import Iterable
from itertools import groupby
from typing import Any

from datacommune.validate.registry import SchemaEntry
from datacommune.validate.reports import groups, hints

EXAMPLES_PER_TYPE = 100


class Tally:
    """Exact counts by kind and severity, the report's examples and its groups."""

    def __init__(self, schema: SchemaEntry | None) -> None:
        self.with_schema = schema is not None
        self.required = schema.required_fields() if schema else set()
        self.specs = {f["name"]: f for f in (schema.descriptor.get("fields", []) if schema else [])}
        self.errors: Counter[str] = Counter()
        self.warnings: Counter[str] = Counter()
        self.examples: list[dict[str, Any]] = []
        self._shown: Counter[str] = Counter()
        self._members: dict[groups.Key, groups.Members] = {}
        # Whether a column is missing or extra: the mapping proposal looks at the header then.
        self.labelled = False

    @property
    def total(self) -> int:
        return sum(self.errors.values()) + sum(self.warnings.values())

    def add_all(self, found: Iterable[dict[str, Any]]) -> None:
        """Findings in row order, rows not yet grouped (frictionless's list)."""
        for _, row in groupby(found, key=lambda f: f["row"]):
            self.add_row(list(row))

    def add_row(self, found: list[dict[str, Any]]) -> None:
        """The findings of one row (or of the header, or of the whole table), in order."""
        for f in _one_per_cell(found):
            self.labelled = self.labelled or f["type"] in ("extra-label", "missing-label")
            f["severity"] = severity(f, self.with_schema, self.required)
            (self.errors if f["severity"] == "error" else self.warnings)[f["type"]] += 1
            if self._shown[f["type"]] < EXAMPLES_PER_TYPE:
                self._shown[f["type"]] += 1
                self.examples.append(self._example(f))
            self._members.setdefault(groups.key(f), groups.Members()).add(f)

    def groups(self) -> list[dict[str, Any]]:
        return groups.described(self._members, self.specs)

    def _example(self, f: dict[str, Any]) -> dict[str, Any]:
        return {
            **{k: v for k, v in f.items() if k != "fatal"},
            "severity": f.get("severity", "error"),
            "title": hints.title(f["type"]),
            "message_fr": hints.describe(
                f["type"], field=f.get("field"), cell=f.get("cell"), note=f.get("note")
            )
            or f["message"],
            "hint": hints.hint(
                f["type"], f.get("note"), spec=self.specs.get(f.get("field")), cell=f.get("cell")
            ),
        }


def _one_per_cell(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One cell, one finding: a SIRET written ``2,43E+13`` is an invalid SIRET, not also a
    value that breaks the column's pattern; the most useful finding is kept."""
    specific = {(f["row"], f["field"]) for f in found if f["type"] in hints.SPECIFIC and f["row"]}
    if not specific:
        return found
    return [
        f
        for f in found
        if not (f["type"] == "constraint-error" and (f["row"], f["field"]) in specific)
    ]


def severity(finding: dict[str, Any], with_schema: bool, required: set[str]) -> str:
    """An error blocks publication; a warning is shown and lets the file through.

    Without a schema the check is structural: a readable table may be published as it is.
    With one, columns are matched by name: a column the schema does not know, or an optional
    one that is absent, is a remark, as Validata treats them.
    """
    if finding["fatal"]:
        return "error"
    if not with_schema or finding["type"] == "extra-label":
        return "warning"
    if finding["type"] == "missing-label" and finding.get("field") not in required:
        return "warning"
    return "error"
