"""Time and peak memory to validate a large SCDL file, against plain frictionless in the same run.

Writes a CSV of about SIZE megabytes in the shape of SCDL subventions (Windows-1252, `;`,
decimal commas, jj/mm/aaaa dates in 1 % of rows, as spreadsheets export them), then in separate
processes, so that each peak RSS is its own:
  baseline: ``frictionless.validate`` on the same bytes, told the encoding and delimiter;
  ours:     ``reports.check_with_repair`` — detection over the whole file, UTF-8 copy,
            frictionless with the French checks, and the repair proposal re-validated.

    .venv/bin/python bench/validate_large.py [--megabytes 200]
"""

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "services/validate/src/datacommune/validate/schemas/scdl-subventions/schema.json"
HEADER = (
    "nomAttribuant;idAttribuant;dateConvention;referenceDecision;nomBeneficiaire;idBeneficiaire;"
    "rnaBeneficiaire;objet;montant;nature;conditionsVersement;datesPeriodeVersement;idRAE;"
    "notificationUE;pourcentageSubvention;dispositifAide"
)


def write(path: Path, megabytes: int) -> int:
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
                f"Roques;21310457000014;{date};DEL-{rows};Association numéro {rows} de Roques;"
                f"44239187600012;W313004512;Fête locale été;{amount};aide en numéraire;unique;"
                f"2024-05-01;;non;0.4;\r\n"
            )
            rows += 1
    return rows


BASELINE = """
import json, sys, time
from frictionless import Dialect, Resource, Schema, formats
schema = json.load(open(sys.argv[2]))
schema.pop("custom_checks", None)
schema["fieldsMatch"] = "superset"
start = time.perf_counter()
from pathlib import Path
source = Path(sys.argv[1])
resource = Resource(path=source.name, basepath=str(source.parent), encoding="cp1252",
    schema=Schema.from_descriptor(schema),
    dialect=Dialect(controls=[formats.CsvControl(delimiter=";")]))
report = resource.validate(limit_errors=50_000)
print(json.dumps({"seconds": time.perf_counter() - start, "errors": len(report.tasks[0].errors)}))
"""

OURS = """
import json, sys, time
from pathlib import Path
from datacommune.validate.reports import report as reports
from datacommune.validate.registry import load_entry
schema = load_entry("scdl-subventions", json.load(open(sys.argv[2])))
start = time.perf_counter()
report, _ = reports.check_with_repair(Path(sys.argv[1]), schema=schema)
print(json.dumps({"seconds": time.perf_counter() - start, "errors": report["summary"]["errors"],
    "after": report["repair"]["after"]["summary"]["errors"], "changes": report["repair"]["changes_total"]}))
"""


def run(code: str, path: Path) -> tuple[dict[str, float], float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out = subprocess.run(
        [sys.executable, "-c", code, str(path), str(SCHEMA)],
        capture_output=True,
        text=True,
    )
    if out.returncode:
        raise SystemExit(out.stderr)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the largest so far: run the smaller process first.
    return json.loads(out.stdout), max(peak, before) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "file.csv"
        started = time.perf_counter()
        rows = write(path, args.megabytes)
        size = path.stat().st_size / 2**20
        print(
            f"file: {size:.0f} MiB, {rows} rows, written in {time.perf_counter() - started:.1f} s"
        )
        base, base_rss = run(BASELINE, path)
        ours, ours_rss = run(OURS, path)
    print(
        f"baseline frictionless.validate: {base['seconds']:.1f} s, peak RSS {base_rss:.0f} MiB, "
        f"{base['errors']:.0f} findings (capped at 50,000)"
    )
    print(
        f"datacommune check + repair proposal: {ours['seconds']:.1f} s, peak RSS {ours_rss:.0f} MiB, "
        f"{ours['errors']:.0f} errors, {ours['changes']:.0f} safe changes, {ours['after']:.0f} left after them"
    )
    print(f"ratio time ours / baseline: {ours['seconds'] / base['seconds']:.2f}x")
    print(f"target peak RSS < 500 MiB for 200 MB: {'met' if ours_rss < 500 else 'NOT met'}")


if __name__ == "__main__":
    main()
