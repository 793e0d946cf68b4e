"""``datacommune validate``: check a file on this machine, no service needed."""

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from datacommune.cli import display
from datacommune.validate.registry import (
    Registry,
    SchemaEntry,
    dirs_from_environment,
    load_entry,
    with_builtin,
)
from datacommune.validate.reports import rendering
from datacommune.validate.reports import report as reports


def registry() -> Registry:
    """The schemas the validate service knows: the shipped ones and ``SCHEMAS_DIRS``'s."""
    return Registry.from_dirs(with_builtin(dirs_from_environment(os.environ.get("SCHEMAS_DIRS"))))


def _schema(ref: str | None) -> tuple[SchemaEntry | None, str | None]:
    if ref is None:
        return None, None
    path = Path(ref)
    if path.suffix == ".json" and path.is_file():
        return load_entry(path.parent.name or "schema", json.loads(path.read_text("utf-8"))), None
    return registry().get(ref), ref


def run(
    path: Path,
    *,
    schema: str | None,
    output_format: str = "text",
    output: Path | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    fix: bool = False,
) -> int:
    """Exit code 0 if the file could be published, 1 if not, 2 if it cannot be read (refused
    before its rows were checked, or the check itself failed)."""
    if not path.is_file():
        print(f"Fichier introuvable / file not found: {path}", file=sys.stderr)
        return 2
    entry, ref = _schema(schema)
    # frictionless reads relative paths only; a private copy also keeps odd names harmless.
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / f"file{path.suffix.lower() or '.csv'}"
        shutil.copyfile(path, copy)
        try:
            report, fixed = reports.check_with_repair(
                copy,
                schema=entry,
                schema_ref=ref,
                encoding=encoding,
                delimiter={"tab": "\t"}.get(delimiter or "", delimiter),
                fix=fix,
                candidates=registry().all() if entry is None else None,
            )
        except Exception as exc:
            # As the service does: a checker crash is a report that says so, never a traceback.
            report, fixed = reports.failed(f"{type(exc).__name__}: {exc}"[:500]), None
        if fixed is not None:
            target = Path.cwd() / f"{path.stem}-corrige.csv"
            changes = Path.cwd() / f"{path.stem}-corrections.json"
            shutil.copyfile(fixed.file, target)
            shutil.copyfile(fixed.changes, changes)
            print(f"Fichier corrigé : {target}\nListe des corrections : {changes}", file=sys.stderr)
    report["file"] = {"filename": path.name}
    if output_format == "text" and output is None:
        display.report(report)
    else:
        text = {
            "text": lambda: display.report_text(report),
            "json": lambda: json.dumps(report, ensure_ascii=False, indent=2),
            "html": lambda: rendering.to_html(report),
            "validata": lambda: json.dumps(
                rendering.to_validata(report), ensure_ascii=False, indent=2
            ),
        }[output_format]()
        if output is None:
            print(text)
        else:
            output.write_text(text, encoding="utf-8")
            print(f"{report['message']['fr']}\nRapport écrit dans {output}.")
    if reports.refused(report):
        return 2
    return 0 if report["publishable"] else 1


def list_schemas() -> int:
    """The schemas files can be checked against, with their ids."""
    for entry in registry().all():
        print(f"{entry.id:<42} {entry.title}")
    return 0
