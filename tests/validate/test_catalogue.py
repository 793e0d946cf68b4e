"""Schemas from a catalogue in schema.data.gouv.fr's format, read from disk only."""

import json
import shutil
from pathlib import Path

from datacommune.validate import announce
from datacommune.validate.registry import BUILTIN, Registry


def test_a_catalogue_with_local_and_mirrored_versions(reference: Path, tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    mirrored = mirror / "schemas/etalab/schema-irve-statique/2.3.0/schema-statique.json"
    mirrored.parent.mkdir(parents=True)
    shutil.copyfile(reference / "schemas/irve-statique/schema.json", mirrored)
    shutil.copyfile(reference / "schemas/scdl-prenoms/schema.json", tmp_path / "prenoms.json")
    catalogue = tmp_path / "schemas.json"
    catalogue.write_text(
        json.dumps(
            {
                "version": 1,
                "schemas": [
                    {
                        "name": "etalab/schema-irve-statique",
                        "title": "IRVE statique",
                        "schema_type": "tableschema",
                        "versions": [
                            {
                                "version_name": "2.3.0",
                                "schema_url": "https://schema.data.gouv.fr/schemas/etalab/"
                                "schema-irve-statique/2.3.0/schema-statique.json",
                            },
                            {
                                "version_name": "2.2.0",
                                "schema_url": "https://schema.data.gouv.fr/schemas/etalab/"
                                "schema-irve-statique/2.2.0/schema-statique.json",
                            },
                        ],
                    },
                    {
                        "name": "scdl/prenoms",
                        "schema_type": "tableschema",
                        "versions": [{"version_name": "1.1.5", "schema_url": "prenoms.json"}],
                    },
                    {"name": "etalab/schema-lieux", "schema_type": "jsonschema", "versions": []},
                ],
            }
        )
    )
    found = Registry.from_catalogue(catalogue, mirror)
    assert [e.id for e in found.all()] == [
        "etalab-schema-irve-statique@2.3.0",
        "scdl-prenoms@1.1.5",
    ]
    # Nothing fetched: without a mirror, the https:// versions are simply not there.
    assert [e.id for e in Registry.from_catalogue(catalogue).all()] == ["scdl-prenoms@1.1.5"]
    # Each keeps the address the catalogue gives, as data.gouv.fr matches it; a local file none.
    irve = found.get("etalab-schema-irve-statique@2.3.0")
    assert irve is not None
    assert irve.url == (
        "https://schema.data.gouv.fr/schemas/etalab/schema-irve-statique/2.3.0/schema-statique.json"
    )
    prenoms = found.get("scdl-prenoms@1.1.5")
    assert prenoms is not None
    assert prenoms.url is None
    merged = Registry.from_dirs([BUILTIN]).merged(found)
    assert merged.get("scdl-prenoms") is not None
    assert merged.get("scdl-subventions") is not None


def test_the_shipped_schemas_say_where_they_are_published() -> None:
    """schema.data.gouv.fr's address for the schemas it lists, with their version, as its
    catalogue's ``versions[].schema_url`` writes it; the publisher's for the others."""
    shipped = Registry.from_dirs([BUILTIN])
    subventions = shipped.get("scdl-subventions")
    assert subventions is not None
    assert subventions.url == (
        f"https://schema.data.gouv.fr/schemas/scdl/subventions/{subventions.version}/schema.json"
    )
    for entry in shipped.all():
        assert (entry.url or "").startswith("https://"), entry.id
        if (entry.url or "").startswith("https://schema.data.gouv.fr/"):
            assert f"/{entry.version}/" in entry.url, entry.id


def test_the_schemas_announced_are_the_newest_of_each_name() -> None:
    registry = Registry.from_dirs([BUILTIN])
    event = announce.summary(registry, source="validate")
    names = [s.name for s in event.schemas]
    assert names == sorted(set(names))
    subsidies = next(s for s in event.schemas if s.name == "scdl-subventions")
    assert subsidies.version == registry.get("scdl-subventions").version
    assert subsidies.title == "Subventions"
    assert "nomAttribuant" in subsidies.fields
