"""A dataset as a Frictionless Data Package: ``frictionless validate`` checks its files against
their schemas."""

from typing import Any

from datacommune.catalog.core import metadata
from datacommune.catalog.core.datasets import slugify
from datacommune.catalog.tables import Dataset


def describe(dataset: Dataset, public_url: str, schemas_url: str) -> dict[str, Any]:
    """A Frictionless Data Package describing the dataset's latest files, for ``frictionless``."""
    base = f"{public_url}/api/v1/datasets/{dataset.slug}"
    resources = []
    for resource in dataset.resources:
        if not resource.versions:
            continue
        latest = resource.versions[-1]
        item: dict[str, Any] = {
            "name": resource.key,
            "title": resource.title,
            "path": f"{base}/resources/{resource.key}/latest",
            "mediatype": latest.media_type,
            "bytes": latest.size,
            "hash": f"sha256:{latest.sha256}",
        }
        extension = {"text/csv": "csv"}.get(latest.media_type)
        if extension:
            item["format"] = extension
        if latest.schema_id:
            item["schema"] = f"{schemas_url}/api/v1/schemas/{latest.schema_id}/schema.json"
        resources.append(item)
    for position, remote in enumerate(dataset.remote_resources):
        link: dict[str, Any] = {
            "name": f"{slugify(remote.title)[:90]}-{position}",
            "title": remote.title,
            "path": remote.url,
        }
        if remote.format:
            link["format"] = remote.format
        if remote.media_type:
            link["mediatype"] = remote.media_type
        if remote.size is not None:
            link["bytes"] = remote.size
        resources.append(link)
    return {
        "name": dataset.slug,
        "title": dataset.title,
        "description": dataset.description,
        "homepage": base,
        "keywords": dataset.keywords or [],
        "licenses": [
            {
                "name": dataset.licence,
                "title": metadata.LICENCES.get(dataset.licence, dataset.licence),
                "path": metadata.LICENCE_URIS.get(dataset.licence, dataset.licence),
            }
        ],
        "resources": resources,
    }
