"""Rows per second, peak memory and findings to validate a large SCDL file: the columnar engine
against plain frictionless on the same bytes, interleaved in the same run.

Writes a CSV of about SIZE megabytes in the shape of SCDL subventions (Windows-1252, `;`,
decimal commas and jj/mm/aaaa dates in 1 % of rows, as spreadsheets export them), then runs,
each in its own process (so that each peak RSS is its own), in turn A, B, C, A, B, C…:
  frictionless: ``frictionless.validate`` on the same bytes, told the encoding and delimiter,
                every finding counted (the baseline);
  check:        ``reports.check`` — encoding and dialect detection over the whole file, the
                UTF-8 copy, the records scan, the columnar engine with the French checks;
  check+repair: ``reports.check_with_repair``, what validate runs: the above and the repair
                proposal, whose changed rows are checked again (reports/recheck.py);
  check+repair-whole: the same with the whole repaired file checked again, as before.
Prints the median of each side, the ratios to frictionless, the load average around each run;
``--json FILE`` writes every run.

``--unique`` declares ``referenceDecision`` unique (one value per row, one row in a thousand
repeating the row before's), so the check must remember a value per row, and adds the side
  check-in-memory: ``reports.check`` with every remembered value kept in memory, as before
                   values went to disk past 200,000 (columnar/memory.py).

    .venv/bin/python bench/validate_large.py [--megabytes 200] [--rounds 2] [--json out.json]
        [--sides frictionless,check,check+repair] [--unique]
"""

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "services/validate/src/datacommune/validate/schemas/scdl-subventions/schema.json"
HEADER = (
    "nomAttribuant;idAttribuant;dateConvention;referenceDecision;nomBeneficiaire;idBeneficiaire;"
    "rnaBeneficiaire;objet;montant;nature;conditionsVersement;datesPeriodeVersement;idRAE;"
    "notificationUE;pourcentageSubvention;dispositifAide"
)


def write(path: Path, megabytes: int, *, repeats: bool = False) -> int:
    rng = random.Random(7)
    rows = 0
    with path.open("w", encoding="cp1252", newline="") as out:
        out.write(HEADER + "\r\n")
        while out.tell() < megabytes * 1024 * 1024:
            day, month = rng.randint(1, 28), rng.randint(1, 12)
            bad = rng.random() < 0.01
            date = f"{day:02d}/{month:02d}/2024" if bad else f"2024-{month:02d}-{day:02d}"
            amount = (
                f"{rng.randint(100, 99999)},{rng.randint(0, 99):02d}"
                if bad
                else (f"{rng.randint(100, 99999)}.{rng.randint(0, 99):02d}")
            )
            out.write(
                f"Roques;21310457000014;{date};DEL-{rows - (repeats and rows % 1000 == 999)};"
                f"Association numéro {rows} de Roques;"
                f"44239187600012;W313004512;Fête locale été;{amount};aide en numéraire;unique;"
                f"2024-05-01;;non;0.4;\r\n"
            )
            rows += 1
    return rows


# Each side prints one JSON line: its seconds, findings and its own peak RSS.
PEAK = "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024"

SIDES = {
    "frictionless": f"""
import json, resource, sys, time
from pathlib import Path
from frictionless import Dialect, Resource, Schema, formats
schema = json.load(open(sys.argv[2]))
schema.pop("custom_checks", None)  # a Validata extension frictionless does not run
schema["fieldsMatch"] = "superset"
source = Path(sys.argv[1])
start = time.perf_counter()
table = Resource(path=source.name, basepath=str(source.parent), encoding="cp1252",
    schema=Schema.from_descriptor(schema),
    dialect=Dialect(controls=[formats.CsvControl(delimiter=";")]))
report = table.validate(limit_errors=10**9)
print(json.dumps({{"seconds": time.perf_counter() - start, "findings": len(report.tasks[0].errors),
    "rows": report.tasks[0].stats["rows"], "rss_mib": {PEAK}}}))
""",
    "check": f"""
import json, resource, sys, time
from pathlib import Path
from datacommune.validate.reports import report as reports
from datacommune.validate.registry import load_entry
schema = load_entry("scdl-subventions", json.load(open(sys.argv[2])))
start = time.perf_counter()
report = reports.check(Path(sys.argv[1]), schema=schema)
s = report["summary"]
print(json.dumps({{"seconds": time.perf_counter() - start, "findings": s["errors"] + s["warnings"],
    "rows": s["rows"], "engine": report["engine"]["name"], "rss_mib": {PEAK}}}))
""",
    "check+repair": f"""
import json, resource, sys, time
from pathlib import Path
from datacommune.validate.reports import report as reports
from datacommune.validate.registry import load_entry
schema = load_entry("scdl-subventions", json.load(open(sys.argv[2])))
start = time.perf_counter()
report, _ = reports.check_with_repair(Path(sys.argv[1]), schema=schema)
s = report["summary"]
print(json.dumps({{"seconds": time.perf_counter() - start, "findings": s["errors"] + s["warnings"],
    "rows": s["rows"], "engine": report["engine"]["name"],
    "after": report["repair"]["after"]["summary"]["errors"],
    "rechecked": report["repair"]["after"]["checked"]["how"], "rss_mib": {PEAK}}}))
""",
}

# The repair proposal with its repaired file checked whole, as before only the changed rows
# were checked again (reports/recheck.py).
SIDES["check+repair-whole"] = SIDES["check+repair"].replace(
    "from datacommune.validate.registry import load_entry\n",
    "from datacommune.validate.registry import load_entry\n"
    "from datacommune.validate.reports import recheck\n"
    "recheck.whole_file_reason = lambda *_: 'compared'\n",
)


# The check with every remembered value kept in memory, as before values went to disk.
SIDES["check-in-memory"] = SIDES["check"].replace(
    "from datacommune.validate.registry import load_entry\n",
    "from datacommune.validate.registry import load_entry\n"
    "from datacommune.validate.columnar import memory\nmemory.IN_MEMORY = 10**12\n",
)


def run(side: str, source: Path, work: Path, schema: Path = SCHEMA) -> dict[str, Any]:
    """One side on a fresh copy (validate writes beside the file it checks)."""
    work.mkdir(parents=True, exist_ok=True)
    copy = work / "file.csv"
    shutil.copyfile(source, copy)
    load = os.getloadavg()[0]
    out = subprocess.run(
        [sys.executable, "-c", SIDES[side], str(copy), str(schema)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode:
        raise SystemExit(out.stderr)
    for leftover in work.iterdir():
        leftover.unlink()
    return {"side": side, "load_before": load, **json.loads(out.stdout.splitlines()[-1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", type=Path, help="write every run here")
    parser.add_argument(
        "--sides", default="", help="which sides to run (comma-separated; default: all)"
    )
    parser.add_argument("--unique", action="store_true", help="a unique value in every row")
    args = parser.parse_args()
    default = [s for s in SIDES if args.unique or s != "check-in-memory"]
    sides = [s for s in args.sides.split(",") if s] or default
    if unknown := set(sides) - set(SIDES):
        parser.error(f"unknown sides: {', '.join(sorted(unknown))}")
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "source.csv"
        schema = SCHEMA
        if args.unique:
            schema = Path(tmp) / "schema.json"
            descriptor = json.loads(SCHEMA.read_text())
            for field in descriptor["fields"]:
                if field["name"] == "referenceDecision":
                    field.setdefault("constraints", {})["unique"] = True
            schema.write_text(json.dumps(descriptor))
        started = time.perf_counter()
        rows = write(source, args.megabytes, repeats=args.unique)
        size = source.stat().st_size / 2**20
        print(
            f"file: {size:.0f} MiB, {rows} rows, written in {time.perf_counter() - started:.1f} s"
        )
        print(f"load average at start: {os.getloadavg()[0]:.2f}")
        for round_ in range(args.rounds):
            for side in sides:
                result = run(side, source, Path(tmp) / "work", schema)
                runs.append(result)
                print(
                    f"  round {round_ + 1} {side:18} {result['seconds']:7.1f} s "
                    f"{rows / result['seconds']:>10,.0f} rows/s  peak RSS {result['rss_mib']:4.0f} MiB"
                    f"  {result['findings']} findings"
                    + (
                        f", {result['after']} after ({result['rechecked']})"
                        if "after" in result
                        else ""
                    )
                    + f"  (load {result['load_before']:.2f})",
                    flush=True,
                )
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    medians = {
        side: {
            "seconds": statistics.median(r["seconds"] for r in runs if r["side"] == side),
            "rss_mib": max(r["rss_mib"] for r in runs if r["side"] == side),
            "findings": next(r["findings"] for r in runs if r["side"] == side),
        }
        for side in sides
    }
    base = medians["frictionless"]["seconds"] if "frictionless" in medians else None
    print(f"\nmedians over {args.rounds} rounds ({rows} rows, {size:.0f} MiB):")
    for side, m in medians.items():
        ratio = f" x{base / m['seconds']:5.2f} frictionless" if base else ""
        print(
            f"  {side:18} {m['seconds']:7.1f} s {rows / m['seconds']:>10,.0f} rows/s "
            f"{ratio}  peak RSS {m['rss_mib']:4.0f} MiB  {m['findings']} findings"
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {"megabytes": args.megabytes, "rows": rows, "runs": runs, "medians": medians},
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
