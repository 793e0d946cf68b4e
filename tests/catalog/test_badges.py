"""The dataset page's conformity badges: « conforme » only when every check ran and passed."""

import uuid

from datacommune.catalog.pages.catalogue import _badges
from datacommune.catalog.tables import Dataset, Resource, Version


def version(schema: str, *, valid: bool, unchecked: list[str] | None = None) -> Version:
    return Version(id=uuid.uuid4(), schema_id=schema, valid=valid, unchecked=unchecked)


def dataset(*latest: Version) -> Dataset:
    return Dataset(resources=[Resource(key=f"r{n}", versions=[v]) for n, v in enumerate(latest)])


def test_a_file_whose_checks_did_not_all_run_is_not_called_conforming() -> None:
    assert _badges(dataset(version("a@1", valid=True))) == [("a@1", "ok", [])]
    partial = version("a@1", valid=False, unchecked=["french_gps_coordinates"])
    assert _badges(dataset(partial)) == [("a@1", "partial", ["french_gps_coordinates"])]
    # One file conforming and one not run: the schema's badge is the weaker.
    both = dataset(version("a@1", valid=True), partial)
    assert _badges(both) == [("a@1", "partial", ["french_gps_coordinates"])]
    # A file with errors outweighs both.
    worst = dataset(partial, version("a@1", valid=False))
    assert _badges(worst) == [("a@1", "ko", ["french_gps_coordinates"])]
