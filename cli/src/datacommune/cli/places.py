"""``datacommune places import``: load the communes' reference (name, centre, box by INSEE
code) from a CSV the operator chose, so the DCAT feed describes spatial coverage with names and
geometries. The platform never fetches it itself.

Column names are those of the common French references, whichever is given: the INSEE code
(``code_insee``, ``code_commune_insee``, ``insee``, ``codgeo``, ``code``), the name
(``nom_standard``, ``nom_commune``, ``nom``, ``libelle``, ``name``), the centre
(``latitude_centre``/``longitude_centre``, ``latitude``/``longitude``, ``lat``/``lon``) and,
if present, the box (``west``/``south``/``east``/``north`` or ``xmin``/``ymin``/``xmax``/``ymax``).
"""

import csv
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from datacommune.cli import access, credentials, up
from datacommune.shared import wording

BATCH = 2000
COLUMNS = {
    "insee_code": ("code_insee", "code_commune_insee", "insee", "codgeo", "code"),
    "name": ("nom_standard", "nom_commune", "nom", "libelle", "name"),
    "latitude": ("latitude_centre", "latitude", "lat", "centre_lat"),
    "longitude": ("longitude_centre", "longitude", "lon", "lng", "centre_lon"),
    "west": ("west", "ouest", "xmin", "min_lon"),
    "south": ("south", "sud", "ymin", "min_lat"),
    "east": ("east", "est", "xmax", "max_lon"),
    "north": ("north", "nord", "ymax", "max_lat"),
}
REQUIRED = ("insee_code", "name", "latitude", "longitude")


class Unreadable(Exception):
    """The file is not a reference this command can read; the message says why, in French."""


def _number(text: str) -> float | None:
    text = text.strip().replace(",", ".")
    return float(text) if text else None


def read(path: Path) -> Iterator[dict[str, Any]]:
    """Each place of the CSV, with the keys the API takes; rows without a centre are skipped
    (a reference lists some communes without coordinates)."""
    with path.open(encoding="utf-8-sig", newline="") as src:
        sample = src.read(64 * 1024)
        src.seek(0)
        delimiter = ";" if sample.count(";") > sample.count(",") else ","
        reader = csv.DictReader(src, delimiter=delimiter)
        header = {name.strip().lower(): name for name in reader.fieldnames or []}
        found = {
            key: next((header[n] for n in names if n in header), None)
            for key, names in COLUMNS.items()
        }
        missing = [key for key in REQUIRED if found[key] is None]
        if missing:
            raise Unreadable(
                f"colonnes introuvables : {', '.join(missing)} (attendu par exemple "
                f"{', '.join(COLUMNS[missing[0]][:3])})"
            )
        for row in reader:
            place: dict[str, Any] = {}
            for key, column in found.items():
                if column is None:
                    continue
                value = (row.get(column) or "").strip()
                place[key] = value if key in ("insee_code", "name") else _number(value)
            if place["latitude"] is None or place["longitude"] is None:
                continue
            place["insee_code"] = place["insee_code"].zfill(5)
            yield {k: v for k, v in place.items() if v is not None}


def run(path: Path, *, source: str, var: Path, url: str | None, admin_token: str | None) -> int:
    token = credentials.platform_admin_token(var, admin_token)
    base = url or os.environ.get("DATACOMMUNE_CATALOG_URL") or up.urls()["catalog"]
    stored = 0
    batch: list[dict[str, Any]] = []
    try:
        places = read(path)
        for place in places:
            batch.append(place)
            if len(batch) == BATCH:
                stored += _send(base, token, source, batch)
                batch = []
        if batch:
            stored += _send(base, token, source, batch)
    except (Unreadable, ValueError, UnicodeDecodeError) as exc:
        print(f"{path} : {exc}", file=sys.stderr)
        return 2
    print(
        f"{wording.fr(stored, 'commune chargée', 'communes chargées')} ({source}). / {wording.en(stored, 'place')} loaded."
    )
    return 0


def _send(base: str, token: str, source: str, batch: list[dict[str, Any]]) -> int:
    body = {"source": source, "items": batch}
    stored: int = access.call("PUT", "/places", token=token, url=base, body=body)["stored"]
    print(f"… {stored} de plus / more", file=sys.stderr)
    return stored


def add_parser(commands: Any, add_remote: Any) -> None:
    p_places = commands.add_parser("places", help="référentiel des communes / places reference")
    places_commands = p_places.add_subparsers(dest="places_command", required=True)
    p_import = places_commands.add_parser(
        "import", help="charger un CSV de communes (code INSEE, nom, centre, emprise)"
    )
    add_remote(p_import)
    p_import.add_argument("file", type=Path)
    p_import.add_argument(
        "--source",
        required=True,
        help="d'où viennent les chiffres, montré dans l'API (ex. « IGN Admin Express 2026 »)",
    )
    p_import.add_argument("--url", help="catalogue distant / remote catalog URL")
    p_import.add_argument("--admin-token", help="jeton administrateur (sinon ./var)")
