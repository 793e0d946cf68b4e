"""The differential run at size: for every shipped schema, a generated file of ROWS mutated rows
checked by frictionless and by the columnar engine; prints the findings each made, by kind, and
whether the two lists are the same (they must be), with each engine's time.

    .venv/bin/python bench/validate_differential.py [--rows 10000] [--seed 20261206]
"""

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from datacommune.validate.registry import BUILTIN, Registry
from tests.validate import differential


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20261206)
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    same = True
    with tempfile.TemporaryDirectory() as tmp:
        for entry in Registry.from_dirs([BUILTIN]).all():
            source = Path(tmp) / f"{entry.id}.csv"
            differential.generate(entry.descriptor, args.rows, args.seed, source)
            started = time.perf_counter()
            compared = differential.compare(source, entry, Path(tmp) / entry.id)
            seconds = time.perf_counter() - started
            diffs = compared.differences()
            same = same and not diffs and compared.unsupported is None
            kinds = Counter(f["type"] for f in compared.found)
            verdict = "same" if not diffs and compared.unsupported is None else "DIFFERENT"
            print(
                f"{entry.id:42} {compared.rows_found:6} rows {len(compared.found):7} findings "
                f"{verdict}  (both engines {seconds:.1f} s)"
            )
            print("    " + ", ".join(f"{k} {n}" for k, n in kinds.most_common()))
            for line in diffs:
                print("    " + line[:300])
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    print("every list the same" if same else "DIFFERENCES FOUND")
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
