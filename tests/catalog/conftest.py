"""catalog's features plugged into its core, as the app does at start-up."""

import pytest

from datacommune.catalog import features


@pytest.fixture(autouse=True, scope="session")
def catalog_features() -> None:
    features.install()
