"""The column mapping a person chooses on the report page: for each column of the file the
schema does not know, one of the schema's fields the file lacks, the report's proposal
preselected. A person can so map « Nom association » to ``nomBeneficiaire`` where no name
comes close enough for the report to propose it.

The choices travel as ``champ-<n>``, the n-th column offered: offered again from the same
report when the form comes back, so a column's name (a line break in it, say) never has to
survive a form field.
"""

from typing import Any

from datacommune.ingest import problems

# Columns offered at most: a file with more columns the schema does not know is not that
# schema's, and the report says so.
MOST = 60


def offered(report: dict[str, Any]) -> dict[str, Any] | None:
    """The file's columns to map and the schema's missing fields; None if nothing to map."""
    source = report.get("source") or {}
    header = [str(h).strip() for h in source.get("header") or []]
    fields = [f["name"] for f in source.get("fields") or []]
    proposed = {
        p["column"]: p["field"] for p in (report.get("mapping") or {}).get("proposed") or []
    }
    unknown = [h for h in dict.fromkeys(header) if h and h not in fields][:MOST]
    missing = [f for f in fields if f not in header]
    if not report.get("schema") or not unknown or not missing:
        return None
    return {
        "rows": [{"column": c, "chosen": proposed.get(c, "")} for c in unknown],
        "fields": missing,
    }


def chosen(form: dict[str, str], report: dict[str, Any]) -> dict[str, str]:
    """The mapping the form chose (file column → schema field), checked: each field chosen
    once, and only among those offered; with the mapping already applied to this file kept
    (the columns it renamed are the schema's now, and offered no more)."""
    offer = offered(report)
    if offer is None:
        raise problems.no_mapping_proposed()
    columns: dict[str, str] = {}
    for number, row in enumerate(offer["rows"]):
        field = form.get(f"champ-{number}", "").strip()
        if not field:
            continue
        if field not in offer["fields"]:
            raise problems.InvalidField.mapping_field(field)
        if field in columns.values():
            raise problems.InvalidField.mapping_twice(field)
        columns[row["column"]] = field
    if not columns:
        raise problems.InvalidField.mapping_empty()
    applied: dict[str, str] = (report.get("mapping") or {}).get("applied") or {}
    return {**applied, **columns}
