"""The report's stable JSON: its findings with their severity, the examples kept of each kind,
the summary in French and English, and the short reports of a file refused before reading."""

from collections import Counter
from typing import Any

from frictionless import (
    FrictionlessException,
    Resource,
)

from datacommune.shared import wording
from datacommune.validate.reading import limits
from datacommune.validate.reading import prepare as reading
from datacommune.validate.registry import SchemaEntry
from datacommune.validate.reports import hints
from datacommune.validate.reports.tally import Tally

REPORT_VERSION = 1
# frictionless keeps every error object in memory (about 2 KB each); past this many the counts
# are flagged as lower bounds rather than letting one broken file exhaust the worker.
MAX_ERRORS = 50_000

# Findings that leave the file unreadable as a table; anything else concerns a row or a label.


def labels(resource: Resource) -> list[str]:
    try:
        return list(getattr(resource, "labels", None) or [])
    except FrictionlessException:  # the table never opened; its findings say why
        return []


def fields_of(resource: Resource) -> list[dict[str, str]]:
    """The columns with the types they were checked against: the schema's, else inferred."""
    try:
        fields = resource.schema.fields if resource.schema else []
    except FrictionlessException:
        return []
    return [{"name": f.name, "type": f.type, "format": f.format} for f in fields]


def limit_report(exceeded: limits.Exceeded) -> dict[str, Any]:
    return refusal_report(reading.exceeded(exceeded))


def refusal_report(refusal: reading.Refusal) -> dict[str, Any]:
    """The report of a file refused before it was read as a table."""
    report = fatal(refusal.type, refusal.message, {"fr": refusal.fr, "en": refusal.en})
    if refusal.row is not None:
        report["issues"][0]["row"] = refusal.row
    if refusal.limit is not None:
        report["issues"][0]["limit"] = refusal.limit
    report["source"] = refusal.source
    return report


def fatal(type_: str, message: str, summary: dict[str, str]) -> dict[str, Any]:
    """The report of a file that could not be read as a table at all."""
    tally = Tally(None)
    tally.add_row(
        [
            {
                "type": type_,
                "message": message,
                "row": None,
                "field": None,
                "cell": None,
                "fatal": True,
            }
        ]
    )
    report = assemble(schema=None, rows=0, tally=tally, source={}, seconds=0.0)
    report["message"] = summary
    # The finding itself says in French what the summary says: there is only this one.
    report["issues"][0]["message_fr"] = summary["fr"]
    return report


def assemble(
    *,
    schema: SchemaEntry | None,
    rows: int,
    tally: Tally,
    source: dict[str, Any],
    seconds: float,
    truncated: bool | None = None,
) -> dict[str, Any]:
    """The report of a file read as a table; ``truncated`` says counting stopped at a cap
    (by default, when the tally holds ``MAX_ERRORS`` findings)."""
    if truncated is None:
        truncated = tally.total >= MAX_ERRORS
    errors, warnings = tally.errors, tally.warnings
    publishable = not errors
    # A check the schema declares but that could not run leaves conformity unproven: such a
    # file is publishable, never « valid » (no silent pass).
    unchecked = [
        {"check": c.name, "message": {"fr": c.fr, "en": c.en}}
        for c in (schema.not_run if schema else [])
    ]
    # Without a schema, « valid » keeps its frictionless sense: nothing at all to say.
    valid = (publishable and not unchecked) if schema else not tally.total
    report = {
        "version": REPORT_VERSION,
        "valid": valid,
        "publishable": publishable,
        "schema": (
            {
                "id": schema.id,
                "title": schema.title,
                "warnings": schema.warnings,
                **({"notes": schema.notes} if schema.notes else {}),
            }
            if schema
            else None
        ),
        "source": source,
        "summary": {
            "rows": rows,
            "errors": sum(errors.values()),
            "warnings": sum(warnings.values()),
            "error_types": dict(sorted(errors.items())),
            "warning_types": dict(sorted(warnings.items())),
            "truncated": truncated,
        },
        "message": message(schema, rows, errors, warnings, truncated, unchecked=unchecked),
        "issues": tally.examples,
        "groups": tally.groups(),
        "seconds": round(seconds, 3),
    }
    if unchecked:
        report["unchecked"] = unchecked
    return report


def kinds(counts: Counter[str]) -> tuple[str, str]:
    fr = ", ".join(f"{n} × {hints.title(t)}" for t, n in counts.most_common())
    en = ", ".join(f"{n} × {t}" for t, n in counts.most_common())
    return fr, en


def message(
    schema: SchemaEntry | None,
    rows: int,
    errors: Counter[str],
    warnings: Counter[str],
    truncated: bool = False,
    *,
    unchecked: list[dict[str, Any]] | None = None,
) -> dict[str, str]:
    errors_fr, errors_en = kinds(errors)
    remarks_fr, remarks_en = kinds(warnings)
    n_errors, n_remarks = sum(errors.values()), sum(warnings.values())
    remarks = (
        (
            f" ; {wording.fr(n_remarks, 'remarque')} ({remarks_fr})",
            f"; {wording.en(n_remarks, 'remark')} ({remarks_en})",
        )
        if n_remarks
        else ("", "")
    )
    if truncated:
        # Reading stopped at the cap: the rows counted so far are not the file's.
        rows_fr = "au moins " + wording.fr(rows, "ligne")
        rows_en = "at least " + wording.en(rows, "row")
    elif rows == 0:
        # A header alone is a table with nothing in it yet: publishable, and said plainly.
        rows_fr, rows_en = "en-tête seul, aucune ligne de données", "header only, no data rows"
    else:
        rows_fr, rows_en = wording.fr(rows, "ligne"), wording.en(rows, "row")
    if schema and not n_errors and unchecked:
        names = ", ".join(f"« {u['check']} » ({u['message']['fr']})" for u in unchecked)
        names_en = ", ".join(f"{u['check']!r} ({u['message']['en']})" for u in unchecked)
        return {
            "fr": f"Le fichier est conforme au schéma {schema.id} ({rows_fr}), sauf des "
            f"vérifications non faites : {names}{remarks[0]}. Sans elles, il n'est pas dit "
            "conforme : prévenez l'administrateur de la plateforme.",
            "en": f"The file conforms to the schema {schema.id} ({rows_en}), except for checks "
            f"not run: {names_en}{remarks[1]}. Without them it is not called conforming: tell "
            "the platform's administrator.",
        }
    if schema and not n_errors:
        return {
            "fr": f"Le fichier est conforme au schéma {schema.id} ({rows_fr}){remarks[0]}.",
            "en": f"The file conforms to the schema {schema.id} ({rows_en}){remarks[1]}.",
        }
    if schema:
        count_fr, count_en = wording.fr(n_errors, "erreur"), wording.en(n_errors, "error")
        stopped_fr = stopped_en = ""
        if truncated:
            # Only frictionless stops counting (the columnar engine counts every finding).
            count_fr, count_en = f"au moins {count_fr}", f"at least {count_en}"
            cap = f"{MAX_ERRORS:,}".replace(",", "\u202f")
            stopped_fr = f", la vérification s'étant arrêtée à {cap} constats"
            stopped_en = f", the check having stopped at {MAX_ERRORS:,} findings"
        return {
            "fr": f"Le fichier n'est pas conforme au schéma {schema.id} : "
            f"{count_fr} ({errors_fr}){remarks[0]}{stopped_fr}.",
            "en": f"The file does not conform to the schema {schema.id}: "
            f"{count_en} ({errors_en}){remarks[1]}{stopped_en}.",
        }
    if not n_errors and not n_remarks:
        return {
            "fr": f"Le fichier est un tableau lisible ({rows_fr}) ; aucun schéma n'a été demandé.",
            "en": f"The file is a readable table ({rows_en}); no schema was requested.",
        }
    if not n_errors:
        return {
            "fr": f"Le fichier est lisible ({rows_fr}) et peut être publié{remarks[0]}.",
            "en": f"The file is readable ({rows_en}) and can be published{remarks[1]}.",
        }
    return {
        "fr": f"Le fichier ne peut pas être lu comme un tableau : {errors_fr}.",
        "en": f"The file cannot be read as a table: {errors_en}.",
    }
