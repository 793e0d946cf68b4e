"""What the pages for people cost, against the API calls a script would make for the same facts.

Starts the whole platform on embedded defaults (SQLite, local files), publishes a CSV of
``--rows`` charging points with coordinates in three communes, waits until its rows are
loaded, then times ``--requests`` sequential GETs of each page and of its baseline, in the same
run:

- the dataset page (description, versions, exports, the SVG map of the first 5,000 points, 20
  rows) against the JSON a script reads for it: ``/api/v1/datasets/{slug}`` plus a page of 20
  rows (``/api/v1/versions/{id}/rows?_size=20``), both timed, summed per request;
- the same page with a filter (``commune = Muret``) against the filtered rows in JSON;
- the home page (search with facets) against ``/api/v1/datasets`` (the same search in JSON).

Prints p50 and p95 of each, the ratio page / baseline, and each page's size.

    .venv/bin/python bench/pages.py [--rows 100000] [--requests 200]
"""

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.figures import percentile  # noqa: E402
from tests.platform import running_platform  # noqa: E402


def timed(call: Callable[[], None], count: int) -> list[float]:
    call()  # warm: compiled statements, template cache
    seconds = []
    for _ in range(count):
        start = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - start)
    return seconds


def stations(rows: int) -> bytes:
    lines = ["nom,commune,latitude,longitude,points"]
    for i in range(rows):
        commune = ("Roques", "Muret", "Portet-sur-Garonne")[i % 3]
        lines.append(
            f"Borne {i},{commune},{43.4 + (i % 997) / 5000:.5f},"
            f"{1.25 + (i % 991) / 5000:.5f},{i % 4 + 1}"
        )
    return ("\n".join(lines) + "\n").encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, running_platform(Path(tmp)) as running:
        token = running.organization("bench-pages")
        sent = running.upload(
            token, stations(args.rows), dataset="bornes-bench", title="Bornes de recharge"
        )
        assert sent.status_code == 202, sent.text
        running.wait_status(token, sent.json()["id"], {"published"}, timeout=300)
        catalog = running.url("catalog")
        with httpx.Client(base_url=catalog, timeout=60) as client:
            dataset = client.get("/api/v1/datasets/bornes-bench").json()
            version = dataset["resources"][0]["latest"]["id"]
            deadline = time.monotonic() + 600
            while client.get(f"/api/v1/versions/{version}/rows").status_code != 200:
                assert time.monotonic() < deadline, "rows never loaded"
                time.sleep(0.5)

            def get(path: str, **params: str) -> Callable[[], None]:
                def call() -> None:
                    answer = client.get(path, params=params)
                    assert answer.status_code == 200, (path, answer.status_code)

                return call

            def both(*calls: Callable[[], None]) -> Callable[[], None]:
                def call() -> None:
                    for one in calls:
                        one()

                return call

            rows = f"/api/v1/versions/{version}/rows"
            dataset_json = get("/api/v1/datasets/bornes-bench")
            muret = {"colonne": "commune", "valeur": "Muret"}
            cases: list[tuple[str, str, dict[str, str], str, Callable[[], None]]] = [
                (
                    "dataset page",
                    "/jeux-de-donnees/bornes-bench",
                    {},
                    "dataset + 20 rows JSON",
                    both(dataset_json, get(rows, _size="20")),
                ),
                (
                    "filtered page",
                    "/jeux-de-donnees/bornes-bench",
                    muret,
                    "filtered rows JSON",
                    both(dataset_json, get(rows, _size="20", commune="Muret")),
                ),
                (
                    "home page",
                    "/",
                    {"q": "bornes"},
                    "search JSON",
                    get("/api/v1/datasets", q="bornes"),
                ),
            ]
            print(f"{args.rows:,} rows, {args.requests} sequential requests each, SQLite")
            for name, path, params, baseline_name, baseline in cases:
                page_s = timed(get(path, **params), args.requests)
                base_s = timed(baseline, args.requests)
                size = len(client.get(path, params=params).content)
                print(
                    f"{name:<14} p50 {percentile(page_s, 0.5) * 1000:7.1f} ms  "
                    f"p95 {percentile(page_s, 0.95) * 1000:7.1f} ms  ({size / 1024:6.1f} KiB)   "
                    f"{baseline_name:<24} p50 {percentile(base_s, 0.5) * 1000:7.1f} ms  "
                    f"p95 {percentile(base_s, 0.95) * 1000:7.1f} ms   "
                    f"ratio p50 {percentile(page_s, 0.5) / percentile(base_s, 0.5):4.2f}"
                )


if __name__ == "__main__":
    main()
